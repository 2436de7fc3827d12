package org.rlsf.model.graph;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.TransformerLm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Java Adam loop against DL4J's (libnd4j's op) on the same gradients, and its survival through JSON. */
class HostAdamTest {
    private static double maxRelDiff(INDArray expected, INDArray actual) {
        INDArray e = expected.castTo(DataType.DOUBLE), a = actual.castTo(DataType.DOUBLE);
        return e.sub(a).amaxNumber().doubleValue() / Math.max(1e-30, e.amaxNumber().doubleValue());
    }

    @Test
    void updatesAndStateMatchDl4jsAdamOverSteps() {
        // 40,000 parameters: more than one of the loop's blocks, and a last block that is not full
        int n = 40_000;
        Adam reference = new Adam(new WarmupLinearDecay(1e-3, 2, 20, 0.1));
        HostAdam host = new HostAdam(new WarmupLinearDecay(1e-3, 2, 20, 0.1));
        INDArray refState = Nd4j.zeros(DataType.FLOAT, 1, 2L * n), hostState = Nd4j.zeros(DataType.FLOAT, 1, 2L * n);
        GradientUpdater<?> ru = reference.instantiate(refState, true), hu = host.instantiate(hostState, true);
        assertInstanceOf(HostAdam.Updater.class, hu);
        Nd4j.getRandom().setSeed(5);
        for (int it = 0; it < 6; it++) {
            INDArray g = Nd4j.randn(DataType.FLOAT, 1, n).muli(Math.pow(10, it % 3 - 1));
            INDArray gr = g.dup(), gh = g.dup();
            ru.applyUpdater(gr, it, 0);
            hu.applyUpdater(gh, it, 0);
            assertTrue(maxRelDiff(gr, gh) < 1e-5, "step " + it + ": updates differ by " + maxRelDiff(gr, gh));
            assertTrue(maxRelDiff(refState, hostState) < 1e-5, "step " + it + ": state differs by " + maxRelDiff(refState, hostState));
        }
        assertTrue(hostState.amaxNumber().doubleValue() > 0, "the state moved");
        // float64 takes DL4J's path: the same numbers
        INDArray dState = Nd4j.zeros(DataType.DOUBLE, 1, 2L * n);
        GradientUpdater<?> du = host.instantiate(dState, true);
        INDArray gd = Nd4j.ones(DataType.DOUBLE, 1, n);
        du.applyUpdater(gd, 0, 0);
        assertEquals(1e-3 * 0.5 * Math.sqrt(1 - 0.999) / (1 - 0.9) * 0.1 / (Math.sqrt(0.001) + 1e-8), gd.getDouble(0), 1e-9);
    }

    @Test
    void theGraphsOptimiserIsTheHostAdamThroughJson() {
        ModelConfig model = new ModelConfig(13, 16, 2, 4, 32, 12, 1e-5, 0.3, 5);
        ComputationGraphConfiguration conf = TransformerLm.configuration(model, 8,
                new TransformerLm.Optimiser(3e-3, 2, 100, 0.1, 0.0, 1.0), DataType.FLOAT);
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(conf.toJson());
        for (ComputationGraphConfiguration c : new ComputationGraphConfiguration[]{conf, back}) {
            BaseLayer head = (BaseLayer) ((LayerVertex) c.getVertices().get(TransformerLm.HEAD)).getLayerConf().getLayer();
            assertInstanceOf(HostAdam.class, head.getIUpdater());
            assertEquals(3e-3, head.getIUpdater().getLearningRate(2, 0), 1e-12, "the schedule came along");
            assertInstanceOf(HostAdam.class, head.getIUpdater().clone());
            org.deeplearning4j.nn.conf.layers.Layer block =
                    ((LayerVertex) c.getVertices().get(TransformerLm.block(0))).getLayerConf().getLayer();
            assertInstanceOf(HostAdam.class, block.getUpdaterByParam(TransformerBlock.W_QKV));
        }
    }
}
