package org.rlsf.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.TestSpark;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.model.Checkpoint;
import org.rlsf.tasks.ArithTask;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rlsf train end to end on local[2]: ln 2 at the start on real pairs, metrics, checkpoints, resume, divergence. */
class TrainJobTest {
    private static final FileStore STORE = FileStore.local();
    @TempDir
    static File dir;
    static File ckpt, pairs;

    private static SparkSession spark() {
        return SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate();
    }

    @BeforeAll
    static void pairsFromTheTestModel() {
        Checkpoint model = org.rlsf.generate.ShardGeneratorTestSupport.taskModel(160);
        ckpt = new File(dir, "ckpt");
        Checkpoint.save(STORE, new Path(ckpt.getAbsolutePath()), model.graph(), model.tokenizer(), model.model(), Map.of());
        File corpus = new File(dir, "corpus");
        CorpusTable.write(spark(), STORE, new Path(corpus.getAbsolutePath()), TaskCorpus.generate(new ArithTask(), 16, 3,
                TaskCorpus.TRAIN), TaskCorpus.TRAIN, "test", Map.of());
        File traces = new File(dir, "traces");
        assertEquals(0, Main.execute("generate", "--model", ckpt.getAbsolutePath(), "--corpus", corpus.getAbsolutePath(),
                "--out", traces.getAbsolutePath(), "--set", "generate.k=4", "--set", "generate.max-new-tokens=10",
                "--set", "generate.max-answer-tokens=4", "--set", "generate.shards=2"));
        pairs = new File(dir, "pairs");
        assertEquals(0, Main.execute("pairs", "--traces", traces.getAbsolutePath(), "--out", pairs.getAbsolutePath(),
                "--set", "pairs.threshold=0.0", "--set", "pairs.policy=best-vs-worst"));
    }

    private static int train(File out, String... extra) {
        return train(pairs, out, extra);
    }

    private static int train(File pairsTable, File out, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", ckpt.getAbsolutePath(), "--pairs", pairsTable.getAbsolutePath(),
                "--out", out.getAbsolutePath(), "--set", "train.epochs=4", "--set", "train.pairs-per-batch=2",
                "--set", "train.averaging-frequency=2", "--set", "train.learning-rate=1e-3", "--set", "train.heldout-fraction=0.25",
                "--set", "train.warmup-steps=0"));
        args.addAll(List.of(extra));
        return Main.execute(args.toArray(new String[0]));
    }

    private static List<JsonNode> metrics(File out) throws Exception {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(new File(out, "metrics.jsonl").toPath())) {
            rows.add(new ObjectMapper().readTree(line));
        }
        return rows;
    }

    @Test
    void trainsFromLn2WithTrlMetricsCheckpointsAndAnExactResume() throws Exception {
        File a = new File(dir, "a");
        assertEquals(0, train(a));
        List<JsonNode> m = metrics(a);
        JsonNode start = m.get(0);
        assertEquals("start", start.get("kind").asText());
        // policy = reference: the traces' log-probs agree with the training graph, so the loss is ln 2
        assertEquals(Math.log(2), start.get("loss").asDouble(), 1e-4);
        assertEquals(0.0, start.get("rewards/margins").asDouble(), 1e-4);
        for (String k : List.of("loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
                "logps/chosen", "logps/rejected", "train/loss", "learning_rate", "tokens_per_s")) {
            assertTrue(m.get(m.size() - 1).has(k), k);
        }
        JsonNode last = m.get(m.size() - 1);
        // 3 held-out pairs of a 16-prompt corpus: a small but real drop below ln 2 (an untrained policy stays at ln 2)
        assertTrue(last.get("loss").asDouble() < Math.log(2) - 0.005, "DPO lowered the held-out loss: " + last);
        assertTrue(last.get("rewards/margins").asDouble() > 0.02, "chosen rewards pulled above rejected: " + last);
        Checkpoint tuned = Checkpoint.load(STORE, new Path(a.getAbsolutePath()));
        Checkpoint base = Checkpoint.load(STORE, new Path(ckpt.getAbsolutePath()));
        assertNotEquals(base.weightsSha256(), tuned.weightsSha256(), "training moved the weights");
        assertEquals(base.weightsSha256(), tuned.lineage().get("base_weights_sha256"));
        assertTrue(new File(a, "epochs/epoch-1/checkpoint/checkpoint.json").exists());
        assertTrue(new File(a, "epochs/epoch-2/trainer-state.bin").exists());

        // an interrupted run (its last epoch lost) resumed from its last epoch ends with the same weights
        File b = new File(dir, "b");
        assertEquals(0, train(b));
        org.apache.commons.io.FileUtils.deleteDirectory(new File(b, "epochs/epoch-4"));
        org.apache.commons.io.FileUtils.deleteDirectory(new File(b, "checkpoint"));
        assertEquals(0, train(b, "--resume-from", b.getAbsolutePath()));
        assertEquals(Checkpoint.load(STORE, new Path(a.getAbsolutePath(), "epochs/epoch-4")).weightsSha256(),
                Checkpoint.load(STORE, new Path(b.getAbsolutePath(), "epochs/epoch-4")).weightsSha256());
    }

    @Test
    void threeWorkersTrainToTheSameWeightsWhateverOrderTheyFinishIn() {
        // with three workers the averaging sum's order matters in float32; OrderedAveraging sums in partition order
        // (OrderedAveragingTest pins the order dependence itself); on 2 task slots the third worker runs after the others
        File a = new File(dir, "three-a"), b = new File(dir, "three-b");
        assertEquals(0, train(a, "--set", "train.epochs=2", "--set", "train.workers=3"));
        assertEquals(0, train(b, "--set", "train.epochs=2", "--set", "train.workers=3"));
        assertEquals(Checkpoint.load(STORE, new Path(a.getAbsolutePath())).weightsSha256(),
                Checkpoint.load(STORE, new Path(b.getAbsolutePath())).weightsSha256());
    }

    @Test
    void theSamePairsUnderAnotherRunIdTrainToTheSameWeights() {
        // pair ids hash the run id in; the training order must not depend on it
        File corpus = new File(dir, "corpus"), traces = new File(dir, "traces-other"), other = new File(dir, "pairs-other");
        assertEquals(0, Main.execute("generate", "--model", ckpt.getAbsolutePath(), "--corpus", corpus.getAbsolutePath(),
                "--out", traces.getAbsolutePath(), "--run-id", "another-run", "--set", "generate.k=4",
                "--set", "generate.max-new-tokens=10", "--set", "generate.max-answer-tokens=4", "--set", "generate.shards=2"));
        assertEquals(0, Main.execute("pairs", "--traces", traces.getAbsolutePath(), "--out", other.getAbsolutePath(),
                "--set", "pairs.threshold=0.0", "--set", "pairs.policy=best-vs-worst"));
        File a = new File(dir, "run-id-a"), b = new File(dir, "run-id-b");
        assertEquals(0, train(pairs, a, "--set", "train.epochs=1"));
        assertEquals(0, train(other, b, "--set", "train.epochs=1"));
        assertEquals(Checkpoint.load(STORE, new Path(a.getAbsolutePath())).weightsSha256(),
                Checkpoint.load(STORE, new Path(b.getAbsolutePath())).weightsSha256());
    }

    @Test
    void aDivergingRunStopsWithAClearErrorAndKeepsNoBadCheckpoint() {
        File c = new File(dir, "c");
        assertEquals(1, train(c, "--set", "train.learning-rate=1e30", "--set", "train.grad-clip=1e9"));
        assertFalse(new File(c, "checkpoint").exists());
    }

    @Test
    void aPairsTableWithoutRowsGivesAClearMessage() {
        File empty = new File(dir, "pairs-empty");
        assertEquals(0, Main.execute("pairs", "--traces", new File(dir, "traces").getAbsolutePath(), "--out",
                empty.getAbsolutePath(), "--set", "pairs.threshold=1.0"));   // a margin of 1 needs p(top-1) = 1 exactly
        java.io.PrintStream old = System.err;
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(buf, true));
        try {
            assertEquals(1, Main.execute("train", "--model", ckpt.getAbsolutePath(), "--pairs", empty.getAbsolutePath(),
                    "--out", new File(dir, "d").getAbsolutePath()));
        } finally {
            System.setErr(old);
        }
        assertTrue(buf.toString().contains("has no pair rows") || buf.toString().contains("has no pairs"), buf.toString());
    }
}
