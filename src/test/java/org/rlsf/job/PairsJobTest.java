package org.rlsf.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.TestSpark;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.PairsTable;
import org.rlsf.model.Checkpoint;
import org.rlsf.tasks.McqTask;
import org.rlsf.tasks.Problem;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.lit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rlsf pairs end to end: schema, reference log-probs from the traces, determinism, no gold answers, bad input. */
class PairsJobTest {
    private final FileStore store = FileStore.local();

    private static SparkSession spark() {
        return SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate();
    }

    private static int generate(File ckpt, File corpus, File out) {
        return Main.execute("generate", "--model", ckpt.getAbsolutePath(), "--corpus", corpus.getAbsolutePath(),
                "--out", out.getAbsolutePath(), "--run-id", "r1", "--set", "generate.k=4", "--set", "generate.max-new-tokens=8",
                "--set", "generate.max-answer-tokens=5", "--set", "generate.shards=2", "--set", "generate.batch-rows=16");
    }

    private static int pairs(File traces, File out, String... extra) {
        List<String> args = new ArrayList<>(List.of("pairs", "--traces", traces.getAbsolutePath(), "--out", out.getAbsolutePath(),
                "--set", "pairs.threshold=0.0"));
        args.addAll(List.of(extra));
        return Main.execute(args.toArray(new String[0]));
    }

    private static List<String> content(File table) {
        List<String> out = new ArrayList<>();
        for (Row r : spark().read().parquet(table.getAbsolutePath()).orderBy("pair_id").drop("model_id").collectAsList()) {
            out.add(r.toString());
        }
        return out;
    }

    @Test
    void pairsFromTracesWithoutGoldAnswers(@TempDir File dir) throws Exception {
        Checkpoint model = org.rlsf.generate.ShardGeneratorTestSupport.taskModel(160);
        File ckpt = new File(dir, "ckpt");
        Checkpoint.save(store, new Path(ckpt.getAbsolutePath()), model.graph(), model.tokenizer(), model.model(), Map.of());
        List<Problem> problems = TaskCorpus.generate(new McqTask(), 10, 9, TaskCorpus.HELDOUT);
        List<Problem> scrambled = problems.stream().map(p -> new Problem(p.problemId(), p.task(), p.question(),
                p.answer().equals("A") ? "B" : "A", p.options())).toList();
        File corpus = new File(dir, "corpus"), corpus2 = new File(dir, "corpus-scrambled");
        CorpusTable.write(spark(), store, new Path(corpus.getAbsolutePath()), problems, TaskCorpus.HELDOUT, "test", Map.of());
        CorpusTable.write(spark(), store, new Path(corpus2.getAbsolutePath()), scrambled, TaskCorpus.HELDOUT, "test", Map.of());
        File traces = new File(dir, "traces"), traces2 = new File(dir, "traces-scrambled");
        assertEquals(0, generate(ckpt, corpus, traces));
        assertEquals(0, generate(ckpt, corpus2, traces2));

        File out = new File(dir, "pairs");
        assertEquals(0, pairs(traces, out));
        Dataset<Row> table = spark().read().parquet(out.getAbsolutePath());
        long n = table.count();
        assertTrue(n > 0, "threshold 0 gives pairs");
        for (var f : PairsTable.SCHEMA.fields()) {
            assertTrue(table.schema().apply(f.name()).dataType().sameType(f.dataType()), f.name());
        }
        assertEquals(n, table.select("pair_id").distinct().count(), "pair ids are unique");
        assertEquals(0, table.filter("chosen_confidence <= rejected_confidence").count());
        assertEquals(0, table.filter("abs(margin - exp(chosen_confidence - rejected_confidence)) > 1e-12").count());
        // the reference log-prob is the chosen trace's summed token log-probs from the traces table
        Row pair = table.orderBy("pair_id").first();
        Row trace = spark().read().parquet(traces.getAbsolutePath())
                .filter("prompt_id = '" + pair.getString(pair.fieldIndex("prompt_id")) + "' AND branch = "
                        + pair.getInt(pair.fieldIndex("chosen_branch"))).first();
        double sum = 0;
        for (Object x : trace.getList(trace.fieldIndex("token_logprobs"))) {
            sum += (Float) x;
        }
        assertEquals(sum, pair.getDouble(pair.fieldIndex("chosen_ref_logprob")), 1e-9);
        assertEquals(trace.getList(trace.fieldIndex("trace_tokens")), pair.getList(pair.fieldIndex("chosen_tokens")));
        JsonNode manifest = new ObjectMapper().readTree(new File(out, "run_id=r1/_MANIFEST.json"));
        assertEquals(n, manifest.get("pairs").asLong());
        assertEquals(10, manifest.get("prompts").asInt());
        long histogram = 0;
        for (JsonNode c : manifest.get("confidence_gap_histogram")) {
            histogram += c.asLong();
        }
        assertEquals(n, histogram);

        // a rerun gives the same rows; scrambled gold answers upstream give identical pairs
        List<String> first = content(out);
        assertEquals(0, pairs(traces, out));
        assertEquals(first, content(out));
        File out2 = new File(dir, "pairs-scrambled");
        assertEquals(0, pairs(traces2, out2));
        assertEquals(first, content(out2));

        // best-vs-worst: at most one pair per prompt
        File bvw = new File(dir, "pairs-bvw");
        assertEquals(0, pairs(traces, bvw, "--set", "pairs.policy=best-vs-worst"));
        Dataset<Row> b = spark().read().parquet(bvw.getAbsolutePath());
        assertEquals(b.count(), b.select("prompt_id").distinct().count());
    }

    @Test
    void aTracesTableWithAMissingColumnOrANewerSchemaIsRefusedByName(@TempDir File dir) {
        Checkpoint model = org.rlsf.generate.ShardGeneratorTestSupport.taskModel(160);
        File ckpt = new File(dir, "ckpt");
        Checkpoint.save(store, new Path(ckpt.getAbsolutePath()), model.graph(), model.tokenizer(), model.model(), Map.of());
        File corpus = new File(dir, "corpus");
        CorpusTable.write(spark(), store, new Path(corpus.getAbsolutePath()), TaskCorpus.generate(new McqTask(), 3, 2,
                TaskCorpus.HELDOUT), TaskCorpus.HELDOUT, "test", Map.of());
        File traces = new File(dir, "traces");
        assertEquals(0, generate(ckpt, corpus, traces));
        Dataset<Row> good = spark().read().parquet(traces.getAbsolutePath());

        File broken = new File(dir, "broken");
        good.drop("token_logprobs").withColumn("confidence", good.col("confidence").cast("string"))
                .write().mode(SaveMode.Overwrite).parquet(broken.getAbsolutePath());
        String err = errorOf(() -> pairs(broken, new File(dir, "p1")));
        assertTrue(err.contains("missing column token_logprobs"), err);
        assertTrue(err.contains("column confidence is string, expected double"), err);
        assertTrue(err.contains(broken.getAbsolutePath()), err);

        File newer = new File(dir, "newer");
        good.withColumn("schema_version", lit(2)).write().mode(SaveMode.Overwrite).parquet(newer.getAbsolutePath());
        err = errorOf(() -> pairs(newer, new File(dir, "p2")));
        assertTrue(err.contains("schema version [2] (newer than this rlsf)"), err);
    }

    private static String errorOf(java.util.function.IntSupplier run) {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true));
        try {
            assertEquals(1, run.getAsInt());
        } finally {
            System.setErr(old);
        }
        return buf.toString();
    }
}
