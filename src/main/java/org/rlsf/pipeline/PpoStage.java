package org.rlsf.pipeline;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.rlsf.config.CodeVersion;
import org.rlsf.config.PpoConfig;
import org.rlsf.config.RlsfConfig;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.Lineage;
import org.rlsf.io.RunLayout;
import org.rlsf.io.SparkSessions;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.KvCacheDecoder;
import org.rlsf.model.TransformerLm;
import org.rlsf.tasks.Problem;
import org.rlsf.train.PpoRollouts;
import org.rlsf.train.PpoTrainer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The RLSF-PPO stage (method.md §6.2): base + reward model + unlabelled prompts → PPO rounds on Spark
 * ({@link PpoTrainer}) → the last round's policy as {@code OUT/checkpoint}, an ordinary LM checkpoint.
 * <pre>
 *   OUT/config.conf                     resolved configuration
 *   OUT/metrics.jsonl                   one line per round: reward, KL, clip fraction, value loss, entropy, length, speed
 *   OUT/rounds/round-N/policy|value     the round's policy (LM) and value model (reward-model shaped) checkpoints
 *   OUT/rounds/round-N/trainer-state.bin, round.json (written last: the round is complete)
 *   OUT/checkpoint/                     the last round's policy, with lineage
 * </pre>
 * Reads the corpus without its answer column: no gold answers.
 */
public final class PpoStage {
    private static final Logger LOG = LoggerFactory.getLogger(PpoStage.class);

    private PpoStage() {
    }

    public record Result(Path checkpoint, String weightsSha256, int rounds, double seconds) {
    }

    public static Result run(RlsfConfig config, FileStore store, Path basePath, Path rewardModelPath, Path corpus, Path out) {
        long t0 = System.nanoTime();
        PpoConfig cfg = config.ppo();
        SparkSession spark = SparkSessions.getOrCreate(config.spark());
        store.mkdirs(out);
        store.writeText(new Path(out, "config.conf"), config.render());
        Checkpoint base = Checkpoint.load(store, basePath);
        Checkpoint rm = Checkpoint.load(store, rewardModelPath);
        if (rm.graph().getLayer(TransformerLm.REWARD_HEAD) == null) {
            throw new IllegalArgumentException(rewardModelPath + " is not a reward model (no " + TransformerLm.REWARD_HEAD
                    + " layer): train one with `rlsf reward-model`");
        }
        Object rmBase = rm.lineage().get("base_weights_sha256");
        if (rmBase != null && !rmBase.equals(base.weightsSha256())) {
            throw new IllegalArgumentException(rewardModelPath + " was trained from base weights " + rmBase + ", not from "
                    + basePath + " (" + base.weightsSha256() + "): its trunk and the policy's would not match");
        }
        List<Problem> prompts = CorpusTable.readPrompts(spark, store, corpus);
        int workers = config.train().workers() > 0 ? config.train().workers() : spark.sparkContext().defaultParallelism();
        LOG.info("PPO: {} prompts, {} rounds x {} prompts, K=1 sample at temperature {}, kl {}, gamma {}, lambda {}, clip {}, "
                        + "{} epochs per round, lr {} / value lr {}, {} workers", prompts.size(), cfg.rounds(),
                cfg.promptsPerRound(), cfg.temperature(), cfg.klCoef(), cfg.gamma(), cfg.lambda(), cfg.clip(), cfg.epochs(),
                cfg.learningRate(), cfg.valueLearningRate(), workers);
        Map<String, Object> lineage = Lineage.asMap(Lineage.Ppo.of(store.qualify(corpus), prompts.size(),
                store.qualify(basePath), base.weightsSha256(), store.qualify(rewardModelPath), rm.weightsSha256(), cfg.rounds(),
                cfg.promptsPerRound(), cfg.klCoef(), cfg.learningRate(), cfg.seed(), config.hash(), CodeVersion.get()));
        PpoRollouts.Settings settings = new PpoRollouts.Settings(cfg.temperature(), cfg.maxNewTokens(),
                config.generate().promptTemplate(), KvCacheDecoder.Attention.of(config.compute().decoding()), cfg.seed());
        Path last = PpoTrainer.train(SparkSessions.javaContext(spark), store, cfg, config.train(),
                new PpoTrainer.Models(base, store.qualify(basePath), rm, store.qualify(rewardModelPath)), prompts, settings,
                workers, out, lineage);
        Checkpoint policy = Checkpoint.load(store, new Path(last, "policy"));
        Map<String, Object> finalLineage = new LinkedHashMap<>(policy.lineage());
        Path ckpt = RunLayout.policy(out);
        String hash = Checkpoint.save(store, ckpt, policy.graph(), policy.tokenizer(), policy.model(), finalLineage);
        LOG.info("final PPO policy {} (weights sha256 {})", ckpt, hash.substring(0, 12));
        return new Result(ckpt, hash, cfg.rounds(), (System.nanoTime() - t0) / 1e9);
    }
}
