package org.rlsf.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.TestSpark;
import org.rlsf.evaluate.EvalMetrics;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.EvalTable;
import org.rlsf.io.FileStore;
import org.rlsf.model.Checkpoint;
import org.rlsf.tasks.ArithTask;
import org.rlsf.tasks.McqTask;
import org.rlsf.tasks.Problem;
import org.rlsf.corpus.TaskCorpus;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rlsf evaluate end to end on local[2]: per-problem table, summary aggregated on Spark == sequential. */
class EvaluateJobTest {
    private final FileStore store = FileStore.local();

    private static SparkSession spark() {
        return SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate();
    }

    @Test
    void greedyAndCotDecodingWriteTablesAndSummaries(@TempDir File dir) throws Exception {
        File ckpt = saveModel(dir);
        File corpus = writeCorpus(dir, 8, 5);

        for (String mode : List.of("greedy", "cot-decoding")) {
            File out = new File(dir, mode);
            assertEquals(0, Main.execute("evaluate", "--model", ckpt.getAbsolutePath(), "--corpus", corpus.getAbsolutePath(),
                    "--out", out.getAbsolutePath(), "--decoding", mode, "--set", "evaluate.k=3", "--set", "evaluate.shards=3",
                    "--set", "generate.max-new-tokens=8", "--set", "generate.max-answer-tokens=5"));
            Dataset<Row> table = spark().read().parquet(new File(out, "problems").getAbsolutePath());
            assertEquals(16, table.count());
            for (var f : EvalTable.SCHEMA.fields()) {
                assertTrue(table.schema().apply(f.name()).dataType().sameType(f.dataType()), f.name());
            }
            int k = mode.equals("greedy") ? 1 : 3;
            assertEquals(16, table.filter("size(branch_confidences) = " + k).count(), "K branches per problem");

            // the Spark-aggregated summary equals a sequential pass over the written rows
            EvalMetrics seq = new EvalMetrics();
            table.collectAsList().forEach(r -> seq.add(EvalTable.fromRow(r)));
            JsonNode summary = new ObjectMapper().readTree(new File(out, "summary.json"));
            assertEquals(mode, summary.get("decoding").asText());
            assertEquals(16, summary.get("all").get("problems").asInt());
            assertEquals(seq.accuracy(), summary.get("all").get("accuracy").asDouble(), 1e-12);
            assertEquals(seq.brier(), summary.get("all").get("brier").asDouble(), 1e-12);
            assertEquals(8, summary.get("by_task").get("mcq").get("problems").asInt());
            assertEquals(8, summary.get("by_task").get("arith").get("problems").asInt());
            assertEquals(seq.tokensPerProblem(), summary.get("all").get("generated_tokens_per_problem").asDouble(), 1e-12);
            List<String> csv = Files.readAllLines(new File(out, "summary.csv").toPath());
            assertEquals(4, csv.size(), "header + arith + mcq + all");
            assertEquals(1 + 3 * 10, Files.readAllLines(new File(out, "reliability.csv").toPath()).size());
        }
    }

    @Test
    void greedyViewOfCotDecodingEqualsAGreedyEvaluation(@TempDir File dir) throws Exception {
        File ckpt = saveModel(dir);
        File corpus = writeCorpus(dir, 6, 9);
        String[] common = {"--model", ckpt.getAbsolutePath(), "--corpus", corpus.getAbsolutePath(), "--set", "evaluate.k=3",
                "--set", "evaluate.shards=2", "--set", "generate.max-new-tokens=10", "--set", "generate.max-answer-tokens=5"};
        File greedy = new File(dir, "greedy"), cot = new File(dir, "cot"), view = new File(dir, "view");
        assertEquals(0, Main.execute(concat(new String[]{"evaluate", "--out", greedy.getAbsolutePath(), "--decoding", "greedy"}, common)));
        assertEquals(0, Main.execute(concat(new String[]{"evaluate", "--out", cot.getAbsolutePath(), "--decoding", "cot-decoding",
                "--greedy-out", view.getAbsolutePath()}, common)));

        List<Row> expected = spark().read().parquet(new File(greedy, "problems").getAbsolutePath()).orderBy("problem_id").collectAsList();
        List<Row> actual = spark().read().parquet(new File(view, "problems").getAbsolutePath()).orderBy("problem_id").collectAsList();
        assertEquals(12, expected.size());
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            Row e = expected.get(i), a = actual.get(i);
            for (String f : List.of("problem_id", "prediction", "correct", "generated_tokens", "chosen_branch", "decoding")) {
                assertEquals(e.get(e.fieldIndex(f)), a.get(a.fieldIndex(f)), f + " of " + e.getString(e.fieldIndex("problem_id")));
            }
            assertEquals(e.getDouble(e.fieldIndex("confidence")), a.getDouble(a.fieldIndex("confidence")), 1e-5);
        }
        JsonNode g = new ObjectMapper().readTree(new File(greedy, "summary.json"));
        JsonNode v = new ObjectMapper().readTree(new File(view, "summary.json"));
        assertEquals(g.get("all").get("accuracy").asDouble(), v.get("all").get("accuracy").asDouble(), 1e-12);
        assertEquals(1, v.get("k").asInt());
        // the CoT-decoding table itself is unchanged by the extra view
        assertEquals(12, spark().read().parquet(new File(cot, "problems").getAbsolutePath()).filter("size(branch_confidences) >= 1").count());
        assertEquals(1, Main.execute(concat(new String[]{"evaluate", "--out", new File(dir, "bad").getAbsolutePath(),
                "--decoding", "greedy", "--greedy-out", new File(dir, "bad2").getAbsolutePath()}, common)),
                "--greedy-out without cot-decoding is a clear error");
    }

    /** A small model trained on the built-in tasks, saved as a checkpoint under {@code dir}. */
    private File saveModel(File dir) {
        Checkpoint model = org.rlsf.generate.ShardGeneratorTestSupport.taskModel(160);
        File ckpt = new File(dir, "ckpt");
        Checkpoint.save(store, new Path(ckpt.getAbsolutePath()), model.graph(), model.tokenizer(), model.model(), Map.of());
        return ckpt;
    }

    /** A labelled held-out corpus of {@code perTask} mcq and arith problems. */
    private File writeCorpus(File dir, int perTask, long seed) {
        List<Problem> problems = new ArrayList<>(TaskCorpus.generate(new McqTask(), perTask, seed, TaskCorpus.HELDOUT));
        problems.addAll(TaskCorpus.generate(new ArithTask(), perTask, seed, TaskCorpus.HELDOUT));
        File corpus = new File(dir, "corpus");
        CorpusTable.write(spark(), store, new Path(corpus.getAbsolutePath()), problems, TaskCorpus.HELDOUT, "test", Map.of());
        return corpus;
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
