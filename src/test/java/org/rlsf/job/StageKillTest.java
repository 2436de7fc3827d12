package org.rlsf.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.rlsf.TestSpark;
import org.rlsf.io.FileStore;
import org.rlsf.model.Checkpoint;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * pairs, train and evaluate each killed with SIGKILL mid-stage in their own JVM, then run again with the same command
 * line: the final output equals an uninterrupted run's (pairs row for row, DPO weights by hash, evaluation metrics).
 * Train resumes from the epoch the killed JVM committed without --resume-from.
 */
class StageKillTest {
    private static final String SMOKE = "conf/experiments/smoke.conf";
    private static File dir;

    @BeforeAll
    static void inputs() throws Exception {
        dir = Files.createTempDirectory("rlsf-kill").toFile();
        dir.deleteOnExit();
        TestSpark.context();
        assertEquals(0, Main.execute("checkpoint", "--from", "builtin:base", "--out", p("base")));
        assertEquals(0, Main.execute("corpus", "-c", SMOKE, "--task", "arith,mcq", "--n", "16", "--seed", "1", "--split", "train",
                "--out", p("prompts")));
        assertEquals(0, Main.execute("corpus", "-c", SMOKE, "--task", "arith", "--n", "40", "--seed", "2", "--split", "heldout",
                "--out", p("heldout")));
        assertEquals(0, Main.execute("generate", "-c", SMOKE, "--model", p("base"), "--corpus", p("prompts"), "--out",
                p("traces"), "--run-id", "r"));
    }

    private static String p(String rel) {
        return new File(dir, rel).getAbsolutePath();
    }

    private static List<String> pairs(String out) {
        return List.of("pairs", "-c", SMOKE, "--traces", p("traces"), "--out", p(out), "--run-id", "r");
    }

    private static List<String> train(String out) {
        return List.of("train", "-c", SMOKE, "--model", p("base"), "--pairs", p("pairs-bw"), "--run-id", "r", "--out", p(out),
                "--set", "train.epochs=3");
    }

    private static List<String> evaluate(String out) {
        return List.of("evaluate", "-c", SMOKE, "--model", p("base"), "--corpus", p("heldout"), "--decoding", "cot-decoding",
                "--out", p(out));
    }

    private static void run(List<String> args) {
        assertEquals(0, Main.execute(args.toArray(new String[0])), String.join(" ", args));
    }

    private static List<String> rows(String table) {
        SparkSession spark = SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate();
        List<String> out = new ArrayList<>();
        for (Row r : spark.read().parquet(p(table)).drop("created_at").orderBy("prompt_id", "chosen_branch", "rejected_branch")
                .collectAsList()) {
            out.add(r.toString());
        }
        return out;
    }

    @Test
    void pairsKilledMidStageEndsAsAnUninterruptedRun() throws Exception {
        run(pairs("pairs"));
        KilledJvm.runUntil(pairs("pairs-killed"), new File(dir, "pairs.log"), () -> new File(p("pairs-killed/_config.conf")).isFile());
        run(pairs("pairs-killed"));
        assertEquals(rows("pairs"), rows("pairs-killed"));
    }

    @Test
    void trainKilledAfterAnEpochResumesToTheUninterruptedWeights() throws Exception {
        run(List.of("pairs", "-c", SMOKE, "--traces", p("traces"), "--out", p("pairs-bw"), "--run-id", "r",
                "--set", "pairs.policy=best-vs-worst"));   // one pair per prompt: short epochs
        run(train("tuned"));
        KilledJvm.runUntil(train("tuned-killed"), new File(dir, "train.log"),
                () -> new File(p("tuned-killed/epochs/epoch-1/trainer.json")).isFile());
        assertFalse(new File(p("tuned-killed/checkpoint/checkpoint.json")).isFile(), "killed before the end");
        run(train("tuned-killed"));
        FileStore store = FileStore.local();
        assertEquals(Checkpoint.load(store, new Path(p("tuned"))).weightsSha256(),
                Checkpoint.load(store, new Path(p("tuned-killed"))).weightsSha256());
    }

    @Test
    void evaluateKilledMidStageEndsWithTheSameMetrics() throws Exception {
        run(evaluate("eval"));
        KilledJvm.runUntil(evaluate("eval-killed"), new File(dir, "eval.log"), () -> new File(p("eval-killed/config.conf")).isFile());
        run(evaluate("eval-killed"));
        assertEquals(metrics("eval"), metrics("eval-killed"));
    }

    private static JsonNode metrics(String eval) throws Exception {
        ObjectNode s = (ObjectNode) new ObjectMapper().readTree(new File(p(eval), "summary.json"));
        s.remove("seconds");
        return s.get("by_task");
    }
}
