package org.rlsf.train;

import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.config.PpoConfig;
import org.rlsf.config.TrainConfig;
import org.rlsf.generate.Shards;
import org.rlsf.io.FileStore;
import org.rlsf.io.Json;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.ModelCache;
import org.rlsf.model.TransformerLm;
import org.rlsf.ppo.Advantages;
import org.rlsf.ppo.PpoMath;
import org.rlsf.ppo.Rollout;
import org.rlsf.report.Durations;
import org.rlsf.tasks.Problem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * RLSF-PPO's rounds on Spark (method.md §6.2). Each round: the executors load the round's policy and value model (the
 * previous round's checkpoints; the base and the reward model in round 1), the frozen base and the frozen reward model
 * by path, and return one rollout per prompt of their shard ({@link PpoRollouts}); the driver computes KL-penalised
 * rewards, GAE and whitened advantages ({@link Advantages}); then {@code ppo.epochs} passes of the clipped surrogate
 * over the policy and of the clipped value loss over the value model run through the same dl4j-spark parameter
 * averaging as DPO. A round is saved as {@code rounds/round-N/} (policy and value checkpoints, the trainer state,
 * {@code round.json} last) and resumes from the last complete one.
 */
public final class PpoTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(PpoTrainer.class);
    static final String ROUND_DONE = "round.json";
    static final String STATE = "trainer-state.bin";

    private PpoTrainer() {
    }

    /** Where the models of PPO come from: qualified checkpoint paths (executors load them by path). */
    public record Models(Checkpoint base, String basePath, Checkpoint rewardModel, String rewardModelPath) {
    }

    public static Path roundDir(Path out, int round) {
        return new Path(new Path(out, "rounds"), "round-" + round);
    }

    /**
     * Runs the rounds after the last complete one in {@code out}; returns the last round's directory.
     *
     * @throws IllegalStateException when a loss, a metric or the weights stop being finite (nothing of that round is saved)
     */
    public static Path train(JavaSparkContext jsc, FileStore store, PpoConfig cfg, TrainConfig train, Models models,
                             List<Problem> prompts, PpoRollouts.Settings template, int workers, Path out,
                             Map<String, Object> lineage) {
        Checkpoint base = models.base();
        TransformerLm.Optimiser policyOpt = new TransformerLm.Optimiser(cfg.learningRate(), 0, 1, 1.0, 0.0, train.gradClip());
        TransformerLm.Optimiser valueOpt = new TransformerLm.Optimiser(cfg.valueLearningRate(), 0, 1, 1.0, 0.0, train.gradClip());
        int baseLen = TransformerLm.seqLen(base.graph());
        Map<Integer, SparkComputationGraph> policies = new HashMap<>(), values = new HashMap<>();
        IterationCarryOver policyCarry = new IterationCarryOver(), valueCarry = new IterationCarryOver();
        ComputationGraph policy = TransformerLm.create(TransformerLm.ppoConfiguration(base.model(), baseLen, policyOpt,
                DataType.FLOAT, cfg.clip()), base.model());
        ComputationGraph value = TransformerLm.create(TransformerLm.valueConfiguration(base.model(), baseLen, valueOpt,
                DataType.FLOAT, cfg.valueClip()), base.model());
        int done = lastCompleteRound(store, out, cfg.rounds());
        Path metrics = new Path(out, "metrics.jsonl");
        if (done > 0) {
            restore(store, roundDir(out, done), policy, value);
            LOG.info("resuming PPO after round {} of {}", done, cfg.rounds());
        } else {
            TransformerLm.copyParams(base.graph(), policy);
            TransformerLm.copyParams(models.rewardModel().graph(), value);
            if (store.exists(metrics)) {
                store.delete(metrics);
            }
        }
        long start = System.nanoTime();
        List<Problem> ordered = order(prompts, cfg.seed());
        for (int round = done + 1; round <= cfg.rounds(); round++) {
            long t0 = System.nanoTime();
            String policyPath = round == 1 ? models.basePath() : store.qualify(new Path(roundDir(out, round - 1), "policy"));
            String valuePath = round == 1 ? models.rewardModelPath() : store.qualify(new Path(roundDir(out, round - 1), "value"));

            // 1) rollouts on the executors
            List<Problem> slice = slice(ordered, round, cfg.promptsPerRound());
            List<Shards.Shard> shards = Shards.split(slice, Math.min(cfg.shards(), slice.size()));
            long seed = cfg.seed() * 1_000_003L + round * 10_007L;
            jsc.setJobGroup("rlsf-ppo", "PPO round " + round + " rollouts");
            List<Rollout> rollouts = new ArrayList<>(jsc.parallelize(shards, shards.size())
                    .flatMap(new RolloutShard(policyPath, models.basePath(), models.rewardModelPath(), valuePath, template, seed))
                    .collect());
            if (rollouts.isEmpty()) {
                throw new IllegalArgumentException("PPO round " + round + ": no prompt fits the context with ppo.max-new-tokens "
                        + cfg.maxNewTokens());
            }
            rollouts.sort(Comparator.comparing(Rollout::promptId));
            double rolloutSecs = (System.nanoTime() - t0) / 1e9;

            // 2) advantages on the driver, minibatches of whole rollouts
            Advantages adv = Advantages.of(rollouts, cfg);
            int len = rollouts.stream().mapToInt(r -> PpoBatch.positions(r, base.tokenizer().bosId())).max().orElseThrow();
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < rollouts.size(); i++) {
                order.add(i);
            }
            Collections.shuffle(order, new Random(seed + 1));
            List<PpoBatch> batches = new ArrayList<>();
            for (int i = 0; i < order.size(); i += cfg.rowsPerBatch()) {
                List<Rollout> rs = new ArrayList<>();
                List<double[]> as = new ArrayList<>(), ret = new ArrayList<>();
                for (int j = i; j < Math.min(order.size(), i + cfg.rowsPerBatch()); j++) {
                    rs.add(rollouts.get(order.get(j)));
                    as.add(adv.advantages()[order.get(j)]);
                    ret.add(adv.returns()[order.get(j)]);
                }
                batches.add(new PpoBatch(rs, as, ret, len, base.tokenizer().bosId(), base.tokenizer().padId()));
            }

            // 3) PPO epochs through parameter averaging
            SparkComputationGraph sp = policies.computeIfAbsent(len, l -> new SparkComputationGraph(jsc,
                    TransformerLm.create(TransformerLm.ppoConfiguration(base.model(), l, policyOpt, DataType.FLOAT,
                            cfg.clip()), base.model()),
                    SparkPretrainer.trainingMaster(workers, cfg.rowsPerBatch(), train.averagingFrequency(), train.seed(), policyCarry)));
            SparkComputationGraph sv = values.computeIfAbsent(len, l -> new SparkComputationGraph(jsc,
                    TransformerLm.create(TransformerLm.valueConfiguration(base.model(), l, valueOpt, DataType.FLOAT,
                            cfg.valueClip()), base.model()),
                    SparkPretrainer.trainingMaster(workers, cfg.rowsPerBatch(), train.averagingFrequency(), train.seed(), valueCarry)));
            PairTrainer.moveState(policy, sp.getNetwork());
            PairTrainer.moveState(value, sv.getNetwork());
            for (int epoch = 1; epoch <= cfg.epochs(); epoch++) {
                List<PpoBatch> shuffled = new ArrayList<>(batches);
                Collections.shuffle(shuffled, new Random(seed + 100 + epoch));
                jsc.setJobGroup("rlsf-ppo", "PPO round " + round + " epoch " + epoch);
                fitEpoch(jsc, sp, policyCarry, shuffled, workers, train.averagingFrequency(), true);
                fitEpoch(jsc, sv, valueCarry, shuffled, workers, train.averagingFrequency(), false);
            }
            policy = sp.getNetwork();
            value = sv.getNetwork();

            // 4) what the round did, measured with the updated models on the round's rollouts
            Map<String, Object> m = roundMetrics(round, rollouts, batches, policy, value, cfg);
            double secs = (System.nanoTime() - t0) / 1e9;
            long tokens = rollouts.stream().mapToLong(r -> r.response().length).sum();
            m.put("rollout_tokens_per_s", tokens / Math.max(rolloutSecs, 1e-9));
            m.put("round_s", secs);
            double elapsed = (System.nanoTime() - start) / 1e9;
            int roundsDone = round - done;
            String eta = Durations.format(elapsed / roundsDone * (cfg.rounds() - round));
            for (Object v : m.values()) {
                if (v instanceof Double d && !Double.isFinite(d)) {
                    throw new IllegalStateException("PPO diverged in round " + round + ": a metric is not finite " + m
                            + ". Nothing of this round was saved; lower ppo.learning-rate (now " + cfg.learningRate() + ").");
                }
            }
            if (!Double.isFinite(policy.params().sumNumber().doubleValue()) || !Double.isFinite(value.params().sumNumber().doubleValue())) {
                throw new IllegalStateException("PPO diverged in round " + round + ": the weights are not finite. Nothing of "
                        + "this round was saved; lower ppo.learning-rate (now " + cfg.learningRate() + ").");
            }
            LOG.info(String.format("PPO round %d/%d  reward %+.4f  kl %.4f  clip fraction %.3f  value loss %.4f  entropy %.3f  "
                            + "length %.1f  rollout tokens/s %,.0f  %.1fs  eta %s", round, cfg.rounds(), (double) m.get("reward/mean"),
                    (double) m.get("kl"), (double) m.get("clip_fraction"), (double) m.get("value_loss"), (double) m.get("entropy"),
                    (double) m.get("response_length"), (double) m.get("rollout_tokens_per_s"), secs, eta));
            saveRound(store, out, round, policy, value, base, lineage, m);
            store.appendLine(metrics, Json.line(m));
        }
        return roundDir(out, cfg.rounds());
    }

    /** The corpus in a seeded order, so that every round mixes its tasks (corpora list them task by task). */
    static List<Problem> order(List<Problem> prompts, long seed) {
        List<Problem> shuffled = new ArrayList<>(prompts);
        Collections.shuffle(shuffled, new Random(seed));
        return shuffled;
    }

    /**
     * One pass over {@code batches}, one {@code fit} per averaging round of at most workers × averaging-frequency
     * minibatches (as DPO's rounds): a larger fit is split by dl4j-spark in a way that lost a step (PpoTrainingTest).
     */
    static void fitEpoch(JavaSparkContext jsc, SparkComputationGraph graph, IterationCarryOver carry, List<PpoBatch> batches,
                         int workers, int averagingFrequency, boolean policy) {
        int round = workers * averagingFrequency;
        for (int i = 0; i < batches.size(); i += round) {
            List<PpoBatch> part = new ArrayList<>(batches.subList(i, Math.min(batches.size(), i + round)));
            int start = graph.getNetwork().getConfiguration().getIterationCount();
            carry.startIteration(start);
            int parts = Math.min(workers, part.size());
            JavaRDD<PpoBatch> rdd = jsc.parallelize(part, parts);
            OrderedAveraging.fit(graph, policy ? rdd.map(PpoBatch::policyDataSet) : rdd.map(PpoBatch::valueDataSet), part.size());
            // each worker stepped once per minibatch of its partition; dl4j-spark's count is off after a partial round
            // (4 instead of 3 for rounds of 2 + 1), and Adam's bias correction reads it
            graph.getNetwork().getConfiguration().setIterationCount(start + (part.size() + parts - 1) / parts);
        }
    }

    /** The round's prompts: the next {@code n} of the (ordered) corpus, wrapping around only when it is used up. */
    static List<Problem> slice(List<Problem> prompts, int round, int n) {
        List<Problem> out = new ArrayList<>(n);
        int start = (int) (((long) (round - 1) * n) % prompts.size());
        for (int i = 0; i < Math.min(n, prompts.size()); i++) {
            out.add(prompts.get((start + i) % prompts.size()));
        }
        return out;
    }

    private static Map<String, Object> roundMetrics(int round, List<Rollout> rollouts, List<PpoBatch> batches,
                                                    ComputationGraph policy, ComputationGraph value, PpoConfig cfg) {
        double reward = 0, kl = 0, length = 0;
        for (Rollout r : rollouts) {
            reward += r.score();
            kl += r.kl();
            length += r.response().length;
        }
        int tokens = 0, clipped = 0;
        double entropy = 0, approxKl = 0, policyLoss = 0, valueLoss = 0;
        for (PpoBatch b : batches) {
            DataSet pd = b.policyDataSet();
            INDArray probs = policy.outputSingle(false, pd.getFeatures());               // [mb, V, T]
            INDArray l = pd.getLabels();
            for (int r = 0; r < b.rollouts().size(); r++) {
                for (int t = 0; t < b.seqLen(); t++) {
                    if (l.getFloat(r, 1, t) == 0) {
                        continue;
                    }
                    INDArray dist = probs.get(org.nd4j.linalg.indexing.NDArrayIndex.point(r),
                            org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.point(t));
                    double p = Math.max(dist.getDouble(l.getInt(r, 0, t)), 1e-30);
                    double ratio = Math.exp(Math.log(p) - l.getDouble(r, 2, t));
                    double a = l.getDouble(r, 3, t);
                    clipped += PpoMath.isClipped(ratio, a, cfg.clip()) ? 1 : 0;
                    policyLoss += PpoMath.clippedSurrogate(ratio, a, cfg.clip());
                    approxKl += l.getDouble(r, 2, t) - Math.log(p);
                    INDArray logDist = org.nd4j.linalg.ops.transforms.Transforms.log(dist.add(1e-30), true);
                    entropy -= dist.mul(logDist).sumNumber().doubleValue();
                    tokens++;
                }
            }
            valueLoss += value.score(b.valueDataSet()) * b.rollouts().size();
        }
        int n = rollouts.size();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("round", round);
        m.put("rollouts", n);
        m.put("reward/mean", reward / n);
        m.put("kl", kl / n);
        m.put("response_length", length / n);
        m.put("policy_loss", policyLoss / Math.max(tokens, 1));
        m.put("value_loss", valueLoss / n);
        m.put("clip_fraction", clipped / (double) Math.max(tokens, 1));
        m.put("approx_kl", approxKl / Math.max(tokens, 1));
        m.put("entropy", entropy / Math.max(tokens, 1));
        return m;
    }

    private static void saveRound(FileStore store, Path out, int round, ComputationGraph policy, ComputationGraph value,
                                  Checkpoint base, Map<String, Object> lineage, Map<String, Object> metrics) {
        Path dir = roundDir(out, round);
        try (var o = new DataOutputStream(new java.io.BufferedOutputStream(store.create(new Path(dir, STATE)), 1 << 20))) {
            Nd4j.write(policy.params(), o);
            Nd4j.write(policy.getUpdater(true).getStateViewArray(), o);
            Nd4j.write(value.params(), o);
            Nd4j.write(value.getUpdater(true).getStateViewArray(), o);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the PPO state of round " + round + ": " + e.getMessage(), e);
        }
        int len = TransformerLm.seqLen(base.graph());
        ComputationGraph lm = TransformerLm.create(base.model(), len, TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT);
        TransformerLm.copyParams(policy, lm);
        ComputationGraph v = TransformerLm.create(TransformerLm.rewardConfiguration(base.model(), len,
                TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT), base.model());
        TransformerLm.copyParams(value, v);
        Map<String, Object> l = new LinkedHashMap<>(lineage);
        l.put("rounds_completed", round);
        l.put("round_metrics", metrics);
        l.put("created_at", Instant.now().toString());
        String hash = Checkpoint.save(store, new Path(dir, "policy"), lm, base.tokenizer(), base.model(), l);
        Map<String, Object> vl = new LinkedHashMap<>(l);
        vl.put("kind", "value-model");
        Checkpoint.save(store, new Path(dir, "value"), v, base.tokenizer(), base.model(), vl);
        Map<String, Object> doneMarker = new LinkedHashMap<>(metrics);
        doneMarker.put("policy_weights_sha256", hash);
        // Adam's bias correction counts steps: a resumed run must continue the count
        doneMarker.put("policy_iterations", policy.getConfiguration().getIterationCount());
        doneMarker.put("value_iterations", value.getConfiguration().getIterationCount());
        store.writeText(new Path(dir, ROUND_DONE), Json.line(doneMarker));
        LOG.info("round {} saved to {} (policy weights sha256 {})", round, dir, hash.substring(0, 12));
    }

    /** The last round with its marker (written last) and state; 0 when none. */
    static int lastCompleteRound(FileStore store, Path out, int rounds) {
        for (int r = rounds; r >= 1; r--) {
            Path dir = roundDir(out, r);
            if (store.exists(new Path(dir, ROUND_DONE)) && store.exists(new Path(dir, STATE))) {
                return r;
            }
        }
        return 0;
    }

    private static void restore(FileStore store, Path dir, ComputationGraph policy, ComputationGraph value) {
        try (var in = new DataInputStream(new java.io.BufferedInputStream(store.open(new Path(dir, STATE)), 1 << 20))) {
            policy.setParams(Nd4j.read(in).castTo(policy.params().dataType()));
            policy.getUpdater(true).getStateViewArray().assign(Nd4j.read(in));
            value.setParams(Nd4j.read(in).castTo(value.params().dataType()));
            value.getUpdater(true).getStateViewArray().assign(Nd4j.read(in));
            Map<?, ?> done = Json.MAPPER.readValue(store.readText(new Path(dir, ROUND_DONE)), Map.class);
            policy.getConfiguration().setIterationCount(((Number) done.get("policy_iterations")).intValue());
            value.getConfiguration().setIterationCount(((Number) done.get("value_iterations")).intValue());
            LOG.info("restored PPO state of round {}", done.get("round"));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the PPO state in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** One shard of a round's prompts → its rollouts, on an executor. */
    static final class RolloutShard implements FlatMapFunction<Shards.Shard, Rollout> {
        private final String policy, reference, rewardModel, value;
        private final PpoRollouts.Settings settings;
        private final long seed;

        RolloutShard(String policy, String reference, String rewardModel, String value, PpoRollouts.Settings settings, long seed) {
            this.policy = policy;
            this.reference = reference;
            this.rewardModel = rewardModel;
            this.value = value;
            this.settings = settings;
            this.seed = seed;
        }

        @Override
        public Iterator<Rollout> call(Shards.Shard shard) {
            PpoRollouts.Settings s = new PpoRollouts.Settings(settings.temperature(), settings.maxNewTokens(),
                    settings.template(), settings.decoding(), seed + 1_000L * shard.shard());
            return PpoRollouts.run(ModelCache.get(policy), ModelCache.get(reference), ModelCache.get(rewardModel),
                    ModelCache.get(value), shard.problems(), s).iterator();
        }
    }
}
