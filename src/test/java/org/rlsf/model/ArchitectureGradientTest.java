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
import org.rlsf.config.LoraConfig;
import org.rlsf.config.ModelConfig;
import org.rlsf.train.TokenBatch;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

    static Stream<Architecture> loraDesigns() {
        return Stream.of(Architecture.gpt2(),
                Architecture.llama(1, 500000, new Architecture.RopeScaling(8, 1, 4, 4), true, true, true));
    }

    /** LoRA: the adapters' B matrices (the only trainable parameters) on every module, B away from 0 so A matters. */
    @ParameterizedTest
    @MethodSource("loraDesigns")
    void loraAdaptersPassInDoublePrecision(Architecture arch) {
        ModelConfig m = new ModelConfig(11, 8, 2, 2, 12, 8, 1e-5, 0.5, 3, arch);
        ComputationGraph g = TransformerLm.create(TransformerLm.configuration(m, 6, TransformerLm.Optimiser.inferenceOnly(),
                DataType.DOUBLE, new LoraConfig(2, 4, 0, java.util.List.of("all-linear"), false)), m);
        Nd4j.getRandom().setSeed(3);
        for (org.deeplearning4j.nn.api.Layer layer : g.getLayers()) {
            for (var p : layer.paramTable().entrySet()) {
                if (p.getKey().startsWith("loraB")) {
                    p.getValue().assign(Nd4j.randn(DataType.DOUBLE, p.getValue().shape()).muli(0.5));
                }
            }
        }
        // DL4J's GradientCheckUtil insists on NoOp updaters everywhere: central differences by hand on every B entry
        DataSet ds = new TokenBatch(new int[][]{{1, 4, 7, 3, 9, 5, 2}, {1, 8, 6, 2}}, 6, 0).toDataSet();
        g.setInputs(ds.getFeatures().castTo(DataType.DOUBLE));
        g.setLabels(ds.getLabels().castTo(DataType.DOUBLE));
        g.setLayerMaskArrays(null, new INDArray[]{ds.getLabelsMaskArray().castTo(DataType.DOUBLE)});
        g.computeGradientAndScore();
        var analytic = g.gradient().gradientForVariable();
        DataSet dd = new DataSet(ds.getFeatures().castTo(DataType.DOUBLE), ds.getLabels().castTo(DataType.DOUBLE), null,
                ds.getLabelsMaskArray().castTo(DataType.DOUBLE));
        assertEquals(g.score(), g.score(dd, false), 1e-12, "the forward-only score is the training score");
        boolean ok = true;
        int checked = 0;
        double eps = 1e-6;
        for (org.deeplearning4j.nn.api.Layer layer : g.getLayers()) {
            String name = layer.conf().getLayer().getLayerName();
            for (var p : layer.paramTable().entrySet()) {
                INDArray grad = analytic.get(name + "_" + p.getKey());
                INDArray w = p.getValue().reshape(p.getValue().length());
                for (long k = 0; k < w.length(); k++) {
                    // DL4J's gradient is summed over the minibatch (the updater divides), the score its mean
                    double a = grad.reshape(grad.length()).getDouble(k) / ds.getFeatures().size(0);
                    if (!p.getKey().startsWith("loraB")) {
                        if (name.startsWith("block") && a != 0) {   // a block's frozen weights: no gradient reaches the clip
                            ok = false;
                            System.out.println(name + "/" + p.getKey() + "[" + k + "] is frozen but has gradient " + a);
                        }
                        continue;
                    }
                    double orig = w.getDouble(k);
                    w.putScalar(k, orig + eps);
                    double up = g.score(dd, false);   // a forward pass only
                    w.putScalar(k, orig - eps);
                    double down = g.score(dd, false);
                    w.putScalar(k, orig);
                    double numeric = (up - down) / (2 * eps);
                    double rel = Math.abs(a - numeric) / Math.max(1e-12, Math.abs(a) + Math.abs(numeric));
                    if (rel > 1e-3 && Math.abs(a - numeric) > 1e-8) {
                        ok = false;
                        System.out.println(name + "/" + p.getKey() + "[" + k + "]: analytic " + a + " numeric " + numeric);
                    }
                    checked++;
                }
            }
        }
        assertTrue(checked > 0, "no adapter entries checked");
        assertTrue(ok, arch + " with LoRA: gradient check failed (see log for the failing parameters)");
    }
}
