package org.rlsf.model;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.config.ModelConfig;
import org.rlsf.train.TokenBatch;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Finite differences vs backprop in float64 for every parameter of a tiny graph (d=8, 2 blocks).
 * Pins the SameDiffLayer gradient workaround ({@code CorrectedSameDiffLayer}): without the 0.5
 * correction every parameter below the head would be off by 2×, 4×, ….
 */
class GradientCheckTest {
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

    @Test
    void everyParameterPassesInDoublePrecision() {
        ModelConfig m = new ModelConfig(11, 8, 2, 2, 16, 8, 1e-5, 0.5, 3);
        ComputationGraph g = TransformerLm.create(m, 6, TransformerLm.Optimiser.inferenceOnly(), DataType.DOUBLE);
        // two sequences, the second padded (label mask exercises the masked loss)
        DataSet ds = new TokenBatch(new int[][]{{1, 4, 7, 3, 9, 5, 2}, {1, 8, 6, 2}}, 6, 0).toDataSet();
        INDArray features = ds.getFeatures().castTo(DataType.DOUBLE);
        INDArray labels = ds.getLabels().castTo(DataType.DOUBLE);
        INDArray mask = ds.getLabelsMaskArray().castTo(DataType.DOUBLE);
        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(g)
                .inputs(new INDArray[]{features}).labels(new INDArray[]{labels})
                .labelMask(new INDArray[]{mask})
                .epsilon(1e-6).maxRelError(1e-3).minAbsoluteError(1e-8)
                .print(GradientCheckUtil.PrintMode.FAILURES_ONLY));
        assertTrue(ok, "gradient check failed (see log for the failing parameters)");
    }
}
