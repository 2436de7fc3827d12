package org.rlsf.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.TestSpark;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.Lineage;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.TransformerLm;
import org.rlsf.tasks.ArithTask;
import org.rlsf.corpus.TaskCorpus;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rlsf reward-model end to end on pairs from the test model: metrics, lineage, the checkpoint, an exact resume. */
class RewardModelJobTest {
    private static final FileStore STORE = FileStore.local();
    @TempDir
    static File dir;
    static File ckpt, pairs;

    @BeforeAll
    static void pairsFromTheTestModel() {
        Checkpoint model = org.rlsf.generate.ShardGeneratorTestSupport.taskModel(160);
        ckpt = new File(dir, "ckpt");
        Checkpoint.save(STORE, new Path(ckpt.getAbsolutePath()), model.graph(), model.tokenizer(), model.model(), Map.of());
        File corpus = new File(dir, "corpus");
        CorpusTable.write(SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate(), STORE,
                new Path(corpus.getAbsolutePath()), TaskCorpus.generate(new ArithTask(), 16, 3, TaskCorpus.TRAIN),
                TaskCorpus.TRAIN, "test", Map.of());
        File traces = new File(dir, "traces");
        assertEquals(0, Main.execute("generate", "--model", ckpt.getAbsolutePath(), "--corpus", corpus.getAbsolutePath(),
                "--out", traces.getAbsolutePath(), "--set", "generate.k=4", "--set", "generate.max-new-tokens=10",
                "--set", "generate.max-answer-tokens=4", "--set", "generate.shards=2"));
        pairs = new File(dir, "pairs");
        assertEquals(0, Main.execute("pairs", "--traces", traces.getAbsolutePath(), "--out", pairs.getAbsolutePath(),
                "--set", "pairs.threshold=0.0"));
    }

    private static int rewardModel(File out, String... extra) {
        List<String> args = new ArrayList<>(List.of("reward-model", "--model", ckpt.getAbsolutePath(), "--pairs",
                pairs.getAbsolutePath(), "--out", out.getAbsolutePath(), "--set", "reward.epochs=3",
                "--set", "reward.learning-rate=1e-2", "--set", "reward.select=last", "--set", "train.pairs-per-batch=4",
                "--set", "train.averaging-frequency=2", "--set", "train.heldout-fraction=0.25", "--set", "train.warmup-steps=0"));
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
    void trainsFromTiedRewardsToAScoringCheckpointAndResumesExactly() throws Exception {
        File a = new File(dir, "a");
        assertEquals(0, rewardModel(a, "--set", "reward.margin=none"));
        List<JsonNode> m = metrics(a);
        JsonNode start = m.get(0);
        assertEquals("start", start.get("kind").asText());
        assertTrue(start.get("pairs").asInt() > 0, start.toString());
        // a zero head ties every pair: plain Bradley-Terry starts at ln 2, no pair ranked right
        assertEquals(Math.log(2), start.get("loss").asDouble(), 1e-6);
        assertEquals(0.0, start.get("accuracy").asDouble(), 0);
        JsonNode last = m.get(m.size() - 1);
        for (String k : List.of("loss", "accuracy", "rewards/chosen", "rewards/rejected", "rewards/margins", "train/loss",
                "learning_rate", "tokens_per_s")) {
            assertTrue(last.has(k), k + " in " + last);
        }
        assertTrue(last.get("train/loss").asDouble() < Math.log(2) - 0.05, "the workers fit their pairs: " + last);
        assertTrue(last.get("rewards/margins").asDouble() != 0, "rewards moved apart: " + last);

        Checkpoint rm = Checkpoint.load(STORE, new Path(a.getAbsolutePath()));
        assertNotNull(rm.graph().getLayer(TransformerLm.REWARD_HEAD), "the checkpoint is a reward model");
        assertEquals(Lineage.RewardModel.KIND, rm.lineage().get("kind"));
        assertEquals("none", rm.lineage().get("margin"));
        assertEquals(Checkpoint.load(STORE, new Path(ckpt.getAbsolutePath())).weightsSha256(), rm.lineage().get("base_weights_sha256"));

        // an interrupted run (its last epoch lost) resumed from its last epoch ends with the same weights
        File b = new File(dir, "b");
        assertEquals(0, rewardModel(b, "--set", "reward.margin=none"));
        org.apache.commons.io.FileUtils.deleteDirectory(new File(b, "epochs/epoch-3"));
        org.apache.commons.io.FileUtils.deleteDirectory(new File(b, "checkpoint"));
        assertEquals(0, rewardModel(b, "--set", "reward.margin=none", "--resume-from", b.getAbsolutePath()));
        assertEquals(rm.weightsSha256(), Checkpoint.load(STORE, new Path(b.getAbsolutePath())).weightsSha256());
    }

    @Test
    void theConfidenceMarginIsTheDefault() throws Exception {
        File c = new File(dir, "c");
        assertEquals(0, rewardModel(c, "--set", "reward.epochs=1"));
        JsonNode start = metrics(c).get(0);
        // tied rewards against margins exp(c_c - c_r) >= 1: the start loss is softplus(m) > softplus(1) > ln 2
        assertTrue(start.get("loss").asDouble() > 1.31, start.toString());
        assertEquals("confidence", Checkpoint.load(STORE, new Path(c.getAbsolutePath())).lineage().get("margin"));
    }
}
