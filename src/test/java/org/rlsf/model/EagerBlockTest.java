package org.rlsf.model;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.rlsf.config.Architecture;
import org.rlsf.config.LoraConfig;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.graph.CorrectedSameDiffLayer;
import org.rlsf.model.graph.EagerBlockLayer;
import org.rlsf.model.graph.TransformerBlock;
import org.rlsf.train.TokenBatch;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The eager kernels ({@link EagerBlockLayer}, and the position and final-norm layers) against the reference: the same graph run through
 * DL4J's SameDiff execution of {@link TransformerBlock#defineLayer}. Same parameters in, so outputs, loss
 * and every parameter's gradient must agree to float64 rounding, and a few float32 training steps must
 * land on the same weights up to float32 rounding.
 */
class EagerBlockTest {
    private static final ModelConfig MODEL = new ModelConfig(13, 16, 2, 4, 32, 12, 1e-5, 0.3, 5);
    private static final int SEQ = 7;

    /**
     * Each block design: rlsf's own (GPT-2's), Llama with grouped-query attention (4 query heads on 2 key/value heads),
     * Qwen2's q/k/v biases with one key/value head, Llama 3's rotary scaling with multi-head attention and the output
     * and MLP biases on.
     */
    static Stream<ModelConfig> designs() {
        return Stream.of(MODEL,
                withArch(Architecture.llama(2, 10000, null, false, false, false)),
                withArch(Architecture.llama(1, 1e6, null, true, false, false)),
                withArch(Architecture.llama(4, 500000, new Architecture.RopeScaling(8, 1, 4, 4), false, true, true)));
    }

    private static ModelConfig withArch(Architecture arch) {
        return new ModelConfig(13, 16, 2, 4, 32, 12, 1e-5, 0.3, 5, arch);
    }

    private static ComputationGraph graph(boolean sameDiff, DataType type) {
        return graph(MODEL, sameDiff, type);
    }

    private static ComputationGraph graph(ModelConfig model, boolean sameDiff, DataType type) {
        TransformerLm.Optimiser opt = new TransformerLm.Optimiser(3e-3, 0, 100, 1.0, 0.0, 1.0)
                .withSameDiffKernels(sameDiff);
        return TransformerLm.create(model, SEQ, opt, type);
    }

    private static DataSet batch(DataType type) {
        DataSet ds = new TokenBatch(new int[][]{{1, 4, 7, 3, 9, 5, 2, 11}, {1, 8, 6, 2}, {1, 12, 3, 3, 10, 2}}, SEQ, 0)
                .toDataSet();
        return new DataSet(ds.getFeatures().castTo(type), ds.getLabels().castTo(type), null,
                ds.getLabelsMaskArray().castTo(type));
    }

    @Test
    void runtimeLayerFollowsTheSetting() {
        ComputationGraph eager = graph(false, DataType.FLOAT), reference = graph(true, DataType.FLOAT);
        assertInstanceOf(EagerBlockLayer.class, eager.getLayer(TransformerLm.block(0)));
        assertTrue(!(reference.getLayer(TransformerLm.block(0)) instanceof EagerBlockLayer));
        // Spark ships the configuration to executors as JSON: the setting must survive it
        ComputationGraph shipped = new ComputationGraph(ComputationGraphConfiguration.fromJson(reference.getConfiguration().toJson()));
        shipped.init();
        assertTrue(shipped.getLayer(TransformerLm.block(0)) instanceof CorrectedSameDiffLayer.HalvedEpsilonLayer);
        for (String name : new String[]{TransformerLm.POS, TransformerLm.FINAL_NORM}) {
            assertTrue(eager.getLayer(name).getClass().getName().contains("Eager"), name + " runs eagerly");
            assertTrue(reference.getLayer(name) instanceof CorrectedSameDiffLayer.HalvedEpsilonLayer, name + " runs SameDiff");
        }
        // the LM head: the hand-written runtime, or DL4J's RnnOutputLayer as the reference
        assertTrue(eager.getLayer(TransformerLm.HEAD).getClass().getName().contains("Eager"), "the head runs eagerly");
        assertTrue(!reference.getLayer(TransformerLm.HEAD).getClass().getName().contains("Eager"), "the reference head is DL4J's");
        ComputationGraph shippedEager = new ComputationGraph(ComputationGraphConfiguration.fromJson(eager.getConfiguration().toJson()));
        shippedEager.init();
        assertTrue(shippedEager.getLayer(TransformerLm.HEAD).getClass().getName().contains("Eager"), "the setting survives JSON");
    }

    @ParameterizedTest
    @MethodSource("designs")
    void outputsLossAndGradientsMatchTheSameDiffGraphInDoublePrecision(ModelConfig model) {
        ComputationGraph eager = graph(model, false, DataType.DOUBLE), reference = graph(model, true, DataType.DOUBLE);
        assertInstanceOf(EagerBlockLayer.class, eager.getLayer(TransformerLm.block(0)));
        assertEquals(reference.params(), eager.params(), "same seed, same parameters");
        DataSet ds = batch(DataType.DOUBLE);

        INDArray outEager = eager.outputSingle(false, ds.getFeatures());
        INDArray outRef = reference.outputSingle(false, ds.getFeatures());
        assertTrue(maxAbsDiff(outEager, outRef) < 1e-12, "inference output differs by " + maxAbsDiff(outEager, outRef));

        for (ComputationGraph g : new ComputationGraph[]{eager, reference}) {
            g.setInputs(ds.getFeatures());
            g.setLabels(ds.getLabels());
            g.setLayerMaskArrays(null, new INDArray[]{ds.getLabelsMaskArray()});
            g.computeGradientAndScore();
        }
        assertEquals(reference.score(), eager.score(), 1e-12);
        INDArray gEager = eager.gradient().gradient(), gRef = reference.gradient().gradient();
        double scale = gRef.norm2Number().doubleValue();
        assertTrue(scale > 1e-3, "the gradient is not trivially zero");
        assertTrue(maxAbsDiff(gEager, gRef) < 1e-10 * Math.max(1, scale),
                "gradients differ by " + maxAbsDiff(gEager, gRef));
    }

    @Test
    void gradientsDoNotDependOnDl4jsWorkspaceMode() {
        // with workspaces the forward's intermediates live in the activations workspace; without, on the heap
        DataSet ds = batch(DataType.DOUBLE);
        INDArray[] grads = new INDArray[2];
        WorkspaceMode[] modes = {WorkspaceMode.ENABLED, WorkspaceMode.NONE};
        for (int i = 0; i < 2; i++) {
            ComputationGraph g = graph(false, DataType.DOUBLE);
            g.getConfiguration().setTrainingWorkspaceMode(modes[i]);
            g.getConfiguration().setInferenceWorkspaceMode(modes[i]);
            g.setInputs(ds.getFeatures());
            g.setLabels(ds.getLabels());
            g.setLayerMaskArrays(null, new INDArray[]{ds.getLabelsMaskArray()});
            g.computeGradientAndScore();
            grads[i] = g.gradient().gradient().dup();
        }
        assertTrue(grads[0].norm2Number().doubleValue() > 1e-3);
        assertTrue(maxAbsDiff(grads[0], grads[1]) < 1e-12, "differ by " + maxAbsDiff(grads[0], grads[1]));
    }

    /**
     * The float32 kernels (direct BLAS on views of the projections, the Java row loops) against the float64 path that
     * the test above checks against SameDiff: one gradient, same parameters, within float32 rounding.
     */
    @ParameterizedTest
    @MethodSource("designs")
    void floatGradientsMatchTheDoublePath(ModelConfig model) {
        ComputationGraph single = graph(model, false, DataType.FLOAT), twice = graph(model, false, DataType.DOUBLE);
        twice.setParams(single.params().castTo(DataType.DOUBLE));
        INDArray[] grads = new INDArray[2];
        double[] scores = new double[2];
        ComputationGraph[] graphs = {single, twice};
        for (int i = 0; i < 2; i++) {
            DataSet ds = batch(i == 0 ? DataType.FLOAT : DataType.DOUBLE);
            graphs[i].setInputs(ds.getFeatures());
            graphs[i].setLabels(ds.getLabels());
            graphs[i].setLayerMaskArrays(null, new INDArray[]{ds.getLabelsMaskArray()});
            graphs[i].computeGradientAndScore();
            grads[i] = graphs[i].gradient().gradient().castTo(DataType.DOUBLE);
            scores[i] = graphs[i].score();
        }
        assertEquals(scores[1], scores[0], 1e-5 * Math.abs(scores[1]));
        double scale = grads[1].amaxNumber().doubleValue();
        assertTrue(scale > 1e-3, "the gradient is not trivially zero");
        assertTrue(maxAbsDiff(grads[0], grads[1]) < 1e-4 * scale,
                "float32 gradients differ by " + maxAbsDiff(grads[0], grads[1]) + " (largest " + scale + ")");
    }

    @ParameterizedTest
    @MethodSource("designs")
    void floatTrainingStepsLandOnTheSameWeights(ModelConfig model) {
        ComputationGraph eager = graph(model, false, DataType.FLOAT), reference = graph(model, true, DataType.FLOAT);
        DataSet ds = batch(DataType.FLOAT);
        INDArray start = eager.params().dup();
        for (int step = 0; step < 5; step++) {
            eager.fit(ds);
            reference.fit(ds);
        }
        double moved = maxAbsDiff(eager.params(), start);
        assertTrue(moved > 1e-3, "training moved the weights (" + moved + ")");
        // Adam divides by the gradient's running magnitude, so float rounding in near-zero gradients moves a
        // weight by a visible fraction of a step; an error in a gradient would move it by whole steps
        double diff = maxAbsDiff(eager.params(), reference.params());
        assertTrue(diff < 0.05 * moved, "after 5 steps the weights differ by " + diff + " (moved " + moved + ")");
    }

    /** LoRA on every module: the eager block's adapters (dB = s·Aᵀ·dW, frozen gradients zeroed) against SameDiff's. */
    @ParameterizedTest
    @MethodSource("designs")
    void loraAdaptersMatchTheSameDiffGraphInDoublePrecision(ModelConfig model) {
        LoraConfig lora = new LoraConfig(3, 6, 0, java.util.List.of("all-linear"), false);
        ComputationGraph[] graphs = new ComputationGraph[2];
        for (int i = 0; i < 2; i++) {
            TransformerLm.Optimiser opt = new TransformerLm.Optimiser(3e-3, 0, 100, 1.0, 0.0, 1.0).withSameDiffKernels(i == 1);
            graphs[i] = TransformerLm.create(TransformerLm.configuration(model, SEQ, opt, DataType.DOUBLE, lora), model);
        }
        ComputationGraph eager = graphs[0], reference = graphs[1];
        assertInstanceOf(EagerBlockLayer.class, eager.getLayer(TransformerLm.block(0)));
        org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(4);
        for (org.deeplearning4j.nn.api.Layer layer : eager.getLayers()) {
            for (var p : layer.paramTable().entrySet()) {
                if (p.getKey().startsWith("loraB")) {
                    p.getValue().assign(org.nd4j.linalg.factory.Nd4j.randn(DataType.DOUBLE, p.getValue().shape()).muli(0.4));
                }
            }
        }
        reference.setParams(eager.params());
        DataSet ds = batch(DataType.DOUBLE);
        INDArray outEager = eager.outputSingle(false, ds.getFeatures()), outRef = reference.outputSingle(false, ds.getFeatures());
        INDArray base = graph(model, false, DataType.DOUBLE).outputSingle(false, ds.getFeatures());
        assertTrue(maxAbsDiff(outEager, base) > 1e-3, "the adapters change the output");
        assertTrue(maxAbsDiff(outEager, outRef) < 1e-12, "inference output differs by " + maxAbsDiff(outEager, outRef));
        for (ComputationGraph g : graphs) {
            g.setInputs(ds.getFeatures());
            g.setLabels(ds.getLabels());
            g.setLayerMaskArrays(null, new INDArray[]{ds.getLabelsMaskArray()});
            g.computeGradientAndScore();
        }
        assertEquals(reference.score(), eager.score(), 1e-12);
        for (int layer = 0; layer < model.nLayers(); layer++) {
            String name = TransformerLm.block(layer);
            for (String param : eager.getLayer(name).paramTable().keySet()) {
                INDArray ge = eager.gradient().getGradientFor(name + "_" + param);
                INDArray gr = reference.gradient().getGradientFor(name + "_" + param);
                if (param.startsWith("loraB")) {
                    assertTrue(ge.norm2Number().doubleValue() > 1e-4, name + "/" + param + " has a gradient");
                } else {
                    assertEquals(0.0, ge.amaxNumber().doubleValue(), name + "/" + param + " is frozen");
                }
                assertTrue(maxAbsDiff(ge, gr) < 1e-10, name + "/" + param + " differs by " + maxAbsDiff(ge, gr));
            }
        }
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }
}
