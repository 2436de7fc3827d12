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
import org.rlsf.pairs.PreferenceExample;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reward model's scalar head in a ComputationGraph: the Bradley–Terry loss with and without the confidence margin
 * against plain Java, the layout (the last response token is fed and read), ln 2 at a zero head, and a float64
 * gradient check of every parameter, trunk included.
 */
class RewardHeadTest {
    private static final ModelConfig M = new ModelConfig(11, 8, 2, 2, 16, 12, 1e-5, 0.5, 3);
    private static final int T = 8;
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

    /** Two pairs; the second's chosen response fills the whole planned length (prompt 3 + response 5 = T). */
    private static PreferenceBatch batch(int bosId) {
        return new PreferenceBatch(List.of(
                new PreferenceExample("p0", "q0", new int[]{4, 5}, new int[]{6, 7, 2}, new int[]{8, 2}, 0, 0, 0.4),
                new PreferenceExample("p1", "q1", new int[]{9, 3, 4}, new int[]{10, 5, 6, 7, 2}, new int[]{5, 2}, 0, 0, 0.1)),
                T, bosId, 0);
    }

    private static ComputationGraph graph(ModelConfig m, int length) {
        ComputationGraph g = TransformerLm.create(TransformerLm.rewardConfiguration(m, length,
                TransformerLm.Optimiser.inferenceOnly(), DataType.DOUBLE), m);
        var head = g.getLayer(TransformerLm.REWARD_HEAD);
        head.getParam(RewardHead.WEIGHT).assign(Nd4j.rand(DataType.DOUBLE, M.dModel(), 1).subi(0.5));
        head.getParam(RewardHead.BIAS).assign(0.3);
        return g;
    }

    @Test
    void bradleyTerryByHand() {
        assertEquals(Math.log(2), DpoLoss.bradleyTerry(0.7, 0.7, 0), 1e-12);
        // r_c 1.0, r_r 0.2, margin exp(0.3): softplus(-(0.8 - 1.349859)) = log(1 + e^0.549859)
        assertEquals(Math.log1p(Math.exp(0.549859)), DpoLoss.bradleyTerry(1.0, 0.2, RewardBatch.margin(0.3, true)), 1e-6);
        assertEquals(0.0, RewardBatch.margin(0.3, false), 0);
    }

    @Test
    void theLayoutFeedsTheWholeSequenceAndMarksItsLastToken() {
        DataSet ds = RewardBatch.toDataSet(batch(1), true);
        assertArrayEquals(new long[]{4, T + 1}, ds.getFeatures().shape());
        assertArrayEquals(new double[]{1, 9, 3, 4, 10, 5, 6, 7, 2}, ds.getFeatures().getRow(2).toDoubleVector(), 0);
        assertEquals(1.0, ds.getLabels().getDouble(2, 0, 8), 0);                     // chosen: +1 at its last token
        assertEquals(Math.exp(0.1), ds.getLabels().getDouble(2, 1, 8), 1e-6);        // with the pair's margin beside it
        assertEquals(-1.0, ds.getLabels().getDouble(3, 0, 5), 0);                    // rejected [BOS] 9 3 4 5 2: -1 at 5
        assertEquals(0.0, ds.getLabels().get(org.nd4j.linalg.indexing.NDArrayIndex.point(3),
                org.nd4j.linalg.indexing.NDArrayIndex.point(1)).sumNumber().doubleValue(), 0);
        DataSet noBos = RewardBatch.toDataSet(batch(-1), false);
        assertArrayEquals(new double[]{9, 3, 4, 10, 5, 6, 7, 2, 0}, noBos.getFeatures().getRow(2).toDoubleVector(), 0);
        assertEquals(1.0, noBos.getLabels().getDouble(2, 0, 7), 0);
    }

    @Test
    void theGraphsLossIsBradleyTerryOverItsOwnRewards() {
        for (boolean margin : new boolean[]{false, true}) {
            PreferenceBatch b = batch(1);
            ComputationGraph g = graph(M, RewardBatch.length(T));
            DataSet ds = RewardBatch.toDataSet(b, margin);
            double[] r = RewardMetrics.rowRewards(g, ds);
            // the head's activations hold the same rewards at the last tokens
            INDArray act = g.outputSingle(false, ds.getFeatures());
            assertEquals(r[2], act.getDouble(2, 0, 8), 1e-12);
            assertEquals(r[3], act.getDouble(3, 0, 5), 1e-12);
            double expected = (DpoLoss.bradleyTerry(r[0], r[1], RewardBatch.margin(0.4, margin))
                    + DpoLoss.bradleyTerry(r[2], r[3], RewardBatch.margin(0.1, margin))) / 2;
            assertEquals(expected, g.score(ds), 1e-6, "margin " + margin);   // the margin travels as float
            RewardMetrics m = RewardMetrics.of(g, List.of(b), margin);
            assertEquals(expected, m.loss(), 1e-6);
            assertEquals(((r[0] - r[1]) + (r[2] - r[3])) / 2, m.margins(), 1e-12);
        }
        // a fresh head is zero: every pair starts tied, loss ln 2 without the margin
        ComputationGraph fresh = TransformerLm.create(TransformerLm.rewardConfiguration(M, RewardBatch.length(T),
                TransformerLm.Optimiser.inferenceOnly(), DataType.DOUBLE), M);
        assertEquals(Math.log(2), fresh.score(RewardBatch.toDataSet(batch(1), false)), 1e-12);
    }

    @Test
    void everyParameterPassesAGradientCheckInDoublePrecision() {
        for (ModelConfig m : List.of(M, new ModelConfig(11, 8, 2, 2, 12, 12, 1e-5, 0.5, 3,
                Architecture.llama(1, 10000, null, true, false, false)))) {
            ComputationGraph g = graph(m, RewardBatch.length(T));
            DataSet ds = RewardBatch.toDataSet(batch(1), true);
            boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(g)
                    .inputs(new INDArray[]{ds.getFeatures().castTo(DataType.DOUBLE)})
                    .labels(new INDArray[]{ds.getLabels().castTo(DataType.DOUBLE)})
                    .epsilon(1e-6).maxRelError(1e-3).minAbsoluteError(1e-8)
                    .print(GradientCheckUtil.PrintMode.FAILURES_ONLY));
            assertTrue(ok, m.arch() + ": gradient check failed (see log for the failing parameters)");
        }
    }
}
