package org.rlsf.train;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.config.Architecture;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.graph.RewardHead;
import org.rlsf.ppo.PpoMath;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * RLSF-PPO's two loss heads in a ComputationGraph: the policy's clipped surrogate and the value model's clipped value
 * loss equal PpoMath's plain-Java values over the graph's own log-probs and values, and every parameter passes a
 * float64 gradient check (tokens drawn on both sides of the clip range).
 */
class PpoHeadsTest {
    private static final ModelConfig M = new ModelConfig(11, 8, 2, 2, 16, 12, 1e-5, 0.5, 3);
    private static final int T = 7;
    /** Two rows in the LM layout: [BOS] prompt response; the response starts at position 3 and 2. */
    private static final int[][] SEQ = {{1, 4, 5, 6, 7, 8, 2, 0}, {1, 9, 3, 10, 6, 2, 0, 0}};
    private static final int[] PROMPT_END = {3, 2};
    private static final int[] LENGTH = {7, 6};
    private DataType previous;

    @BeforeEach
    void doublePrecision() {
        previous = Nd4j.dataType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @AfterEach
    void restore() {
        Nd4j.setDefaultDataTypes(previous, previous);
    }

    private static INDArray features() {
        INDArray f = Nd4j.zeros(DataType.DOUBLE, 2, T);
        for (int r = 0; r < 2; r++) {
            for (int t = 0; t < T; t++) {
                f.putScalar(r, t, SEQ[r][t]);
            }
        }
        return f;
    }

    private static boolean masked(int r, int t) {
        return t >= PROMPT_END[r] && t < LENGTH[r] - 1;
    }

    @Test
    void theClippedSurrogateOverTheGraphsOwnLogProbs() {
        for (ModelConfig m : List.of(M, new ModelConfig(11, 8, 2, 2, 12, 12, 1e-5, 0.5, 3,
                Architecture.llama(1, 10000, null, false, false, false)))) {
            ComputationGraph lm = TransformerLm.create(m, T, TransformerLm.Optimiser.inferenceOnly(), DataType.DOUBLE);
            ComputationGraph ppo = TransformerLm.create(TransformerLm.ppoConfiguration(m, T,
                    TransformerLm.Optimiser.inferenceOnly(), DataType.DOUBLE, 0.2), m);
            TransformerLm.copyParams(lm, ppo);
            INDArray probs = lm.outputSingle(false, features());
            Random rng = new Random(3);
            INDArray labels = Nd4j.zeros(DataType.DOUBLE, 2, 4, T);
            double sum = 0;
            int n = 0;
            for (int r = 0; r < 2; r++) {
                for (int t = 0; t < T; t++) {
                    int next = SEQ[r][t + 1];
                    labels.putScalar(r, 0, t, next);
                    if (masked(r, t)) {
                        double logp = Math.log(probs.getDouble(r, next, t));
                        double old = logp + (rng.nextDouble() - 0.5) * 0.8;    // ratios from 0.67 to 1.5: some clipped
                        double adv = rng.nextGaussian();
                        labels.putScalar(r, 1, t, 1);
                        labels.putScalar(r, 2, t, old);
                        labels.putScalar(r, 3, t, adv);
                        sum += PpoMath.clippedSurrogate(Math.exp(logp - old), adv, 0.2);
                        n++;
                    }
                }
            }
            DataSet ds = new DataSet(features(), labels);
            assertEquals(sum / n, ppo.score(ds), 1e-9, m.arch() + ": mean surrogate over the response tokens");
            boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(ppo)
                    .inputs(new INDArray[]{ds.getFeatures()}).labels(new INDArray[]{ds.getLabels()})
                    .epsilon(1e-6).maxRelError(1e-3).minAbsoluteError(1e-8)
                    .print(GradientCheckUtil.PrintMode.FAILURES_ONLY));
            assertTrue(ok, m.arch() + ": PPO head gradient check failed (see log)");
        }
    }

    @Test
    void theClippedValueLossOverTheGraphsOwnValues() {
        ComputationGraph value = TransformerLm.create(TransformerLm.valueConfiguration(M, T,
                TransformerLm.Optimiser.inferenceOnly(), DataType.DOUBLE, 0.2), M);
        var head = value.getLayer(TransformerLm.REWARD_HEAD);
        head.getParam(RewardHead.WEIGHT).assign(Nd4j.rand(DataType.DOUBLE, M.dModel(), 1).subi(0.5));
        head.getParam(RewardHead.BIAS).assign(0.1);
        INDArray v = value.outputSingle(false, features());                                 // [2, 1, T]
        Random rng = new Random(5);
        INDArray labels = Nd4j.zeros(DataType.DOUBLE, 2, 3, T);
        double sum = 0;
        int n = 0;
        for (int r = 0; r < 2; r++) {
            for (int t = 0; t < T; t++) {
                if (masked(r, t)) {
                    double cur = v.getDouble(r, 0, t);
                    double old = cur + (rng.nextDouble() - 0.5);                          // some beyond the 0.2 clip
                    double ret = cur + rng.nextGaussian();
                    labels.putScalar(r, 0, t, 1);
                    labels.putScalar(r, 1, t, old);
                    labels.putScalar(r, 2, t, ret);
                    sum += PpoMath.clippedValueLoss(cur, old, ret, 0.2);
                    n++;
                }
            }
        }
        DataSet ds = new DataSet(features(), labels);
        assertEquals(sum / n, value.score(ds), 1e-9);
        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(value)
                .inputs(new INDArray[]{ds.getFeatures()}).labels(new INDArray[]{ds.getLabels()})
                .epsilon(1e-6).maxRelError(1e-3).minAbsoluteError(1e-8)
                .print(GradientCheckUtil.PrintMode.FAILURES_ONLY));
        assertTrue(ok, "value head gradient check failed (see log)");
    }
}
