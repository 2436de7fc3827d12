package org.rlsf.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.rlsf.TestSpark;
import org.rlsf.config.ModelConfig;
import org.rlsf.config.PpoConfig;
import org.rlsf.model.TransformerLm;
import org.rlsf.ppo.Advantages;
import org.rlsf.ppo.Rollout;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PPO's policy and value updates through dl4j-spark parameter averaging: one worker equals a single-machine fit. */
class PpoTrainingTest {
    private static final ModelConfig M = new ModelConfig(14, 16, 2, 2, 32, 16, 1e-5, 0.1, 5);
    private static final PpoConfig CFG = new PpoConfig(1, 6, 0.7, 6, 0.05, 0.98, 0.95, 0.2, 0.2, 1, 2, 1e-3, 1e-3, 1, 3);

    /** Six rollouts of random tokens with plausible log-probs, values and scores (the update does not care where from). */
    private static List<PpoBatch> batches() {
        Random rng = new Random(9);
        List<Rollout> rs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int[] prompt = {3 + rng.nextInt(10), 3 + rng.nextInt(10)};
            int[] response = new int[2 + rng.nextInt(4)];
            float[] lp = new float[response.length], ref = new float[response.length], v = new float[response.length];
            for (int t = 0; t < response.length; t++) {
                response[t] = 3 + rng.nextInt(10);
                lp[t] = (float) (-2.6 + 0.3 * rng.nextGaussian());
                ref[t] = (float) (lp[t] + 0.1 * rng.nextGaussian());
                v[t] = (float) (0.2 * rng.nextGaussian());
            }
            rs.add(new Rollout("p" + i, prompt, response, lp, ref, v, rng.nextGaussian(), true));
        }
        Advantages adv = Advantages.of(rs, CFG);
        int len = rs.stream().mapToInt(r -> PpoBatch.positions(r, 1)).max().orElseThrow();
        List<PpoBatch> out = new ArrayList<>();
        for (int i = 0; i < rs.size(); i += 2) {
            out.add(new PpoBatch(rs.subList(i, i + 2), List.of(adv.advantages()[i], adv.advantages()[i + 1]),
                    List.of(adv.returns()[i], adv.returns()[i + 1]), len, 1, 0));
        }
        return out;
    }

    @Test
    void oneWorkerWithAveragingEqualsASingleMachineFit() {
        List<PpoBatch> batches = batches();
        int len = batches.get(0).seqLen();
        TransformerLm.Optimiser opt = new TransformerLm.Optimiser(1e-3, 0, 1, 1.0, 0.0, 1.0);
        ComputationGraph lm = TransformerLm.create(M, len, TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT);
        for (boolean policy : new boolean[]{true, false}) {
            ComputationGraph single = graph(policy, len, opt, lm), g = graph(policy, len, opt, lm);
            for (PpoBatch b : batches) {
                single.fit(policy ? b.policyDataSet() : b.valueDataSet());
            }
            // averaging every 2 minibatches over 3: two averaging rounds (a single fit of all 3 lost a step)
            IterationCarryOver carry = new IterationCarryOver();
            SparkComputationGraph spark = new SparkComputationGraph(TestSpark.context(), g,
                    SparkPretrainer.trainingMaster(1, 2, 2, 7, carry));
            PpoTrainer.fitEpoch(TestSpark.context(), spark, carry, batches, 1, 2, policy);
            g = spark.getNetwork();
            assertEquals(3, g.getConfiguration().getIterationCount(), "every minibatch is one step");
            double diff = g.params().sub(single.params()).amaxNumber().doubleValue();
            assertTrue(diff < 1e-5, (policy ? "policy" : "value") + ": max |param difference| " + diff);
            if (policy) {
                double moved = g.params().sub(lm.params()).amaxNumber().doubleValue();
                assertTrue(moved > 1e-5, "the policy moved: " + moved);
            }
        }
    }

    private static ComputationGraph graph(boolean policy, int len, TransformerLm.Optimiser opt, ComputationGraph lm) {
        ComputationGraph g = TransformerLm.create(policy ? TransformerLm.ppoConfiguration(M, len, opt, DataType.FLOAT, 0.2)
                : TransformerLm.valueConfiguration(M, len, opt, DataType.FLOAT, 0.2), M);
        if (policy) {
            TransformerLm.copyParams(lm, g);
        } else {
            TransformerLm.copyTrunk(lm, g);
            g.getLayer(TransformerLm.REWARD_HEAD).getParam(org.rlsf.model.graph.RewardHead.WEIGHT).assign(0.05);
        }
        return g;
    }
}
