package org.rlsf.model;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.config.Architecture;
import org.rlsf.config.ModelConfig;
import org.rlsf.train.TokenBatch;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Finite differences vs backprop in float64 for every parameter of tiny graphs of each block design the Hugging Face
 * families need: RMSNorm, rotary positions (with Llama 3 scaling), SwiGLU, grouped-query attention, each bias group
 * present or absent, a head without bias.
 */
class ArchitectureGradientTest {
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

    static Stream<Architecture> designs() {
        return Stream.of(
                Architecture.gpt2(),
                Architecture.llama(1, 10000, null, false, false, false),                 // Llama: GQA 2 → 1 kv head
                Architecture.llama(1, 1e6, null, true, false, false),                    // Qwen2: q/k/v biases
                Architecture.llama(2, 500000, new Architecture.RopeScaling(8, 1, 4, 4), false, true, true));  // Llama 3
    }

    @ParameterizedTest
    @MethodSource("designs")
    void everyParameterPassesInDoublePrecision(Architecture arch) {
        ModelConfig m = new ModelConfig(11, 8, 2, 2, 12, 8, 1e-5, 0.5, 3, arch);
        ComputationGraph g = TransformerLm.create(m, 6, TransformerLm.Optimiser.inferenceOnly(), DataType.DOUBLE);
        DataSet ds = new TokenBatch(new int[][]{{1, 4, 7, 3, 9, 5, 2}, {1, 8, 6, 2}}, 6, 0).toDataSet();
        INDArray features = ds.getFeatures().castTo(DataType.DOUBLE);
        INDArray labels = ds.getLabels().castTo(DataType.DOUBLE);
        INDArray mask = ds.getLabelsMaskArray().castTo(DataType.DOUBLE);
        assertTrue(m.parameterCount() == g.numParams(), "parameter count " + m.parameterCount() + " vs " + g.numParams());
        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(g)
                .inputs(new INDArray[]{features}).labels(new INDArray[]{labels})
                .labelMask(new INDArray[]{mask})
                .epsilon(1e-6).maxRelError(1e-3).minAbsoluteError(1e-8)
                .print(GradientCheckUtil.PrintMode.FAILURES_ONLY));
        assertTrue(ok, arch + ": gradient check failed (see log for the failing parameters)");
    }
}
