package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.TestSpark;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.generate.Shards;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.RunLayout;
import org.rlsf.io.TracesTable;
import org.rlsf.model.Checkpoint;
import org.rlsf.tasks.McqTask;
import org.rlsf.tasks.Problem;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rlsf generate end to end on local[2]: schema contract, manifests, resume, determinism. */
class GenerateJobTest {
    private final FileStore store = FileStore.local();

    private static SparkSession spark() {
        return SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate();
    }

    private static int generate(File ckpt, File corpus, File out, String runId) {
        return Main.execute("generate", "--model", ckpt.getAbsolutePath(), "--corpus", corpus.getAbsolutePath(),
                "--out", out.getAbsolutePath(), "--run-id", runId, "--set", "generate.k=3", "--set", "generate.max-new-tokens=8",
                "--set", "generate.max-answer-tokens=5", "--set", "generate.shards=3", "--set", "generate.batch-rows=16");
    }

    private static List<String> content(Dataset<Row> df) {
        List<String> out = new ArrayList<>();
        for (Row r : df.orderBy("prompt_id", "branch").select("prompt_id", "branch", "trace_tokens", "token_logprobs",
                "answer", "span_start", "span_end", "confidence", "error").collectAsList()) {
            out.add(r.toString());
        }
        return out;
    }

    /** The Parquet footer schema of one data file, as a non-Spark reader sees it. */
    private static String footerSchema(File table) {
        try (var files = java.nio.file.Files.walk(table.toPath())) {
            java.nio.file.Path file = files.filter(f -> f.toString().endsWith(".parquet")).findFirst().orElseThrow();
            try (var reader = org.apache.parquet.hadoop.ParquetFileReader.open(org.apache.parquet.hadoop.util.HadoopInputFile
                    .fromPath(new Path(file.toString()), new org.apache.hadoop.conf.Configuration()))) {
                return reader.getFooter().getFileMetaData().getSchema().toString();
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void writesTheTracesTableAndResumesDeterministically(@TempDir File dir) {
        Checkpoint model = org.rlsf.generate.ShardGeneratorTestSupport.taskModel(160);
        File ckpt = new File(dir, "ckpt");
        Checkpoint.save(store, new Path(ckpt.getAbsolutePath()), model.graph(), model.tokenizer(), model.model(), Map.of());
        File corpus = new File(dir, "corpus");
        List<Problem> problems = TaskCorpus.generate(new McqTask(), 12, 5, TaskCorpus.HELDOUT);
        CorpusTable.write(spark(), store, new Path(corpus.getAbsolutePath()), problems, TaskCorpus.HELDOUT, "test", Map.of());
        File out = new File(dir, "traces");

        assertEquals(0, generate(ckpt, corpus, out, "a"));
        Dataset<Row> table = spark().read().parquet(out.getAbsolutePath());
        assertEquals(36, table.filter("run_id = 'a'").count());
        // schema contract: every declared column with its declared type
        for (var f : TracesTable.SCHEMA.fields()) {
            var actual = table.schema().apply(f.name());
            assertTrue(actual.dataType().sameType(f.dataType()) || f.name().equals("shard"),
                    f.name() + ": " + actual.dataType() + " vs " + f.dataType());
        }
        int committed = 0;
        for (int s = 0; s < 3; s++) {
            committed += TracesTable.isCommitted(store, new Path(out.getAbsolutePath()), "a", s) ? 1 : 0;
        }
        assertTrue(committed >= 2, "a manifest per written shard");
        // each manifest's counts are the written partition's
        for (int s = 0; s < 3; s++) {
            Path part = RunLayout.shardPartition(new Path(out.getAbsolutePath()), "a", s);
            if (!TracesTable.isCommitted(store, new Path(out.getAbsolutePath()), "a", s)) {
                continue;
            }
            try {
                var m = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                        new File(part.toUri().getPath(), RunLayout.MANIFEST));
                Dataset<Row> rows = table.filter("run_id = 'a' AND shard = " + s);
                assertEquals(rows.count(), m.get("rows").asLong(), "rows of shard " + s);
                assertEquals(rows.filter("error IS NOT NULL").count(), m.get("error_rows").asLong());
                assertEquals(rows.filter("error IS NULL AND span_end = span_start").count(),
                        m.get("zero_confidence_rows").asLong());
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        List<String> first = content(table.filter("run_id = 'a'"));
        assertTrue(footerSchema(out).contains("int64 generated_at (TIMESTAMP(MICROS,true))"), footerSchema(out));

        // resume: drop one shard, rerun the same id -> only that shard is redone, same rows
        Path shard = RunLayout.shardPartition(new Path(out.getAbsolutePath()), "a",
                Shards.of(problems.get(0).problemId(), 3));
        store.delete(shard);
        assertEquals(0, generate(ckpt, corpus, out, "a"));
        assertEquals(first, content(spark().read().parquet(out.getAbsolutePath()).filter("run_id = 'a'")));

        // a rerun of the id with another shard count would mix shards: refused
        assertEquals(1, Main.execute("generate", "--model", ckpt.getAbsolutePath(), "--corpus", corpus.getAbsolutePath(),
                "--out", out.getAbsolutePath(), "--run-id", "a", "--set", "generate.shards=5"));

        // the same inputs under another run id give identical rows
        assertEquals(0, generate(ckpt, corpus, out, "b"));
        assertEquals(first, content(spark().read().parquet(out.getAbsolutePath()).filter("run_id = 'b'")));
    }

    @Test
    void taskRetriesAfterAFaultMidWriteGiveTheRowsOfACleanRun(@TempDir File dir) {
        Checkpoint model = org.rlsf.generate.ShardGeneratorTestSupport.taskModel(160);
        File ckpt = new File(dir, "ckpt");
        Checkpoint.save(store, new Path(ckpt.getAbsolutePath()), model.graph(), model.tokenizer(), model.model(), Map.of());
        File corpus = new File(dir, "corpus");
        List<Problem> problems = TaskCorpus.generate(new McqTask(), 12, 6, TaskCorpus.HELDOUT);
        CorpusTable.write(spark(), store, new Path(corpus.getAbsolutePath()), problems, TaskCorpus.HELDOUT, "test", Map.of());
        File clean = new File(dir, "clean");
        assertEquals(0, generate(ckpt, corpus, clean, "r"));
        List<String> expected = content(spark().read().parquet(clean.getAbsolutePath()));

        File flaky = new File(dir, "flaky");
        org.rlsf.testing.FlakyFileSystem.failFirstAttemptOf(java.util.Set.of(0, 2));
        try {
            assertEquals(0, Main.execute("generate", "--model", ckpt.getAbsolutePath(), "--corpus", corpus.getAbsolutePath(),
                    "--out", org.rlsf.testing.FlakyFileSystem.uri(flaky), "--run-id", "r", "--set", "generate.k=3",
                    "--set", "generate.max-new-tokens=8", "--set", "generate.max-answer-tokens=5",
                    "--set", "generate.shards=3", "--set", "generate.batch-rows=16"));
            assertEquals(2, org.rlsf.testing.FlakyFileSystem.injected(), "two first attempts died mid-write and were retried");
        } finally {
            org.rlsf.testing.FlakyFileSystem.reset();
        }
        Dataset<Row> retried = spark().read().parquet(flaky.getAbsolutePath());
        assertEquals(expected.size(), retried.count(), "no lost and no duplicated rows");
        assertEquals(expected, content(retried));
        for (int s = 0; s < 3; s++) {
            assertEquals(TracesTable.isCommitted(store, new Path(clean.getAbsolutePath()), "r", s),
                    TracesTable.isCommitted(store, new Path(flaky.getAbsolutePath()), "r", s), "manifest of shard " + s);
        }
    }
}
