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
import org.rlsf.io.Lineage;
import org.rlsf.model.Checkpoint;
import org.rlsf.tasks.ArithTask;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * rlsf ppo end to end on the test model: reward model from its pairs, two PPO rounds through parameter averaging with
 * the per-round metrics, a policy checkpoint with lineage, the same weights from the same seed, and an exact resume by
 * round.
 */
class PpoJobTest {
    private static final FileStore STORE = FileStore.local();
    @TempDir
    static File dir;
    static File ckpt, corpus, rm;

    @BeforeAll
    static void rewardModelFromTheTestModelsPairs() {
        Checkpoint model = org.rlsf.generate.ShardGeneratorTestSupport.taskModel(160);
        ckpt = new File(dir, "ckpt");
        Checkpoint.save(STORE, new Path(ckpt.getAbsolutePath()), model.graph(), model.tokenizer(), model.model(), Map.of());
        corpus = new File(dir, "corpus");
        CorpusTable.write(SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate(), STORE,
                new Path(corpus.getAbsolutePath()), TaskCorpus.generate(new ArithTask(), 12, 3, TaskCorpus.TRAIN),
                TaskCorpus.TRAIN, "test", Map.of());
        File traces = new File(dir, "traces"), pairs = new File(dir, "pairs");
        assertEquals(0, Main.execute("generate", "--model", ckpt.getAbsolutePath(), "--corpus", corpus.getAbsolutePath(),
                "--out", traces.getAbsolutePath(), "--set", "generate.k=3", "--set", "generate.max-new-tokens=10",
                "--set", "generate.max-answer-tokens=4", "--set", "generate.shards=1"));
        assertEquals(0, Main.execute("pairs", "--traces", traces.getAbsolutePath(), "--out", pairs.getAbsolutePath(),
                "--set", "pairs.threshold=0.0"));
        rm = new File(dir, "rm");
        assertEquals(0, Main.execute("reward-model", "--model", ckpt.getAbsolutePath(), "--pairs", pairs.getAbsolutePath(),
                "--out", rm.getAbsolutePath(), "--set", "reward.epochs=1", "--set", "reward.learning-rate=1e-2",
                "--set", "train.pairs-per-batch=4", "--set", "train.heldout-fraction=0.25"));
    }

    private static int ppo(File out) {
        return ppo(out, corpus);
    }

    private static int ppo(File out, File prompts) {
        return Main.execute("ppo", "--model", ckpt.getAbsolutePath(), "--reward-model", rm.getAbsolutePath(),
                "--corpus", prompts.getAbsolutePath(), "--out", out.getAbsolutePath(), "--set", "ppo.rounds=2",
                "--set", "ppo.prompts-per-round=6", "--set", "ppo.max-new-tokens=12", "--set", "ppo.epochs=2",
                "--set", "ppo.rows-per-batch=3", "--set", "ppo.shards=2", "--set", "ppo.learning-rate=1e-3",
                "--set", "train.averaging-frequency=1");
    }

    @Test
    void twoRoundsWithMetricsADeterministicPolicyAndAnExactResume() throws Exception {
        File a = new File(dir, "a");
        assertEquals(0, ppo(a));
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(new File(a, "metrics.jsonl").toPath())) {
            rows.add(new ObjectMapper().readTree(line));
        }
        assertEquals(2, rows.size(), "one line per round");
        for (JsonNode r : rows) {
            for (String k : List.of("reward/mean", "kl", "clip_fraction", "value_loss", "entropy", "response_length",
                    "approx_kl", "policy_loss", "rollout_tokens_per_s")) {
                assertTrue(r.has(k) && Double.isFinite(r.get(k).asDouble()), k + " in " + r);
            }
            assertEquals(6, r.get("rollouts").asInt(), "one rollout per prompt");
        }
        assertEquals(0.0, rows.get(0).get("kl").asDouble(), 1e-4, "round 1 samples the base itself: KL to it is 0");
        Checkpoint policy = Checkpoint.load(STORE, new Path(a.getAbsolutePath()));
        Checkpoint base = Checkpoint.load(STORE, new Path(ckpt.getAbsolutePath()));
        assertNotEquals(base.weightsSha256(), policy.weightsSha256(), "PPO moved the policy");
        assertEquals(Lineage.Ppo.KIND, policy.lineage().get("kind"));
        assertEquals(base.weightsSha256(), policy.lineage().get("base_weights_sha256"));
        assertEquals(2, ((Number) policy.lineage().get("rounds_completed")).intValue());

        // the same seed gives the same policy; a run that lost its last round resumes to it
        File b = new File(dir, "b");
        assertEquals(0, ppo(b));
        assertEquals(policy.weightsSha256(), Checkpoint.load(STORE, new Path(b.getAbsolutePath())).weightsSha256());
        org.apache.commons.io.FileUtils.deleteDirectory(new File(b, "rounds/round-2"));
        org.apache.commons.io.FileUtils.deleteDirectory(new File(b, "checkpoint"));
        assertEquals(0, ppo(b));
        assertEquals(policy.weightsSha256(), Checkpoint.load(STORE, new Path(b.getAbsolutePath())).weightsSha256());

        // label-free: the same prompts with other gold answers give the same policy (ppo never reads answers)
        List<org.rlsf.tasks.Problem> scrambled = TaskCorpus.generate(new ArithTask(), 12, 3, TaskCorpus.TRAIN).stream()
                .map(p -> new org.rlsf.tasks.Problem(p.problemId(), p.task(), p.question(), "999", p.options())).toList();
        File corpus2 = new File(dir, "corpus-scrambled");
        CorpusTable.write(SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate(), STORE,
                new Path(corpus2.getAbsolutePath()), scrambled, TaskCorpus.TRAIN, "test", Map.of());
        File c = new File(dir, "c");
        assertEquals(0, ppo(c, corpus2));
        assertEquals(policy.weightsSha256(), Checkpoint.load(STORE, new Path(c.getAbsolutePath())).weightsSha256());
    }
}
