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
import org.rlsf.config.ModelConfig;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.graph.DpoOutputLayer;
import org.rlsf.pairs.PreferenceExample;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The DPO head in a ComputationGraph: method.md vectors, ln 2 at init, plain-Java agreement, gradient check. */
class PreferenceGraphTest {
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

    @Test
    void methodVectors() {
        double h = DpoLoss.h(-10, -12, -11, -11);
        assertEquals(2, h, 0);
        assertEquals(0.598139, DpoLoss.dpo(h, 0.1, 0), 1e-6);
        assertEquals(0.513015, DpoLoss.dpo(h, 0.2, 0), 1e-6);
        assertEquals(0.913015, DpoLoss.dpo(-h, 0.2, 0), 1e-6);
        assertEquals(0.517015, DpoLoss.dpo(h, 0.2, 0.01), 1e-6);
        assertEquals(Math.log(2), DpoLoss.dpo(0, 0.7, 0.01), 1e-12);
        assertEquals(0.2, DpoLoss.reward(-10, -11, 0.2), 1e-12);
        assertEquals(-0.2, DpoLoss.reward(-12, -11, 0.2), 1e-12);
        assertEquals(-0.0802625, DpoLoss.dpoGradient(h, 0.2, 0), 1e-7);
    }

    private static List<PreferenceExample> examples(double[] refs) {
        return List.of(
                new PreferenceExample("p0", "q0", new int[]{4, 5}, new int[]{6, 7, 2}, new int[]{8, 2}, refs[0], refs[1]),
                new PreferenceExample("p1", "q1", new int[]{9, 3, 4}, new int[]{10, 2}, new int[]{5, 6, 7, 2}, refs[2], refs[3]));
    }

    /** Summed log-prob of each row's response under the LM graph, from its softmax output. */
    static double[] responseLogProbs(ComputationGraph lm, PreferenceBatch batch) {
        DataSet ds = batch.toDataSet();
        INDArray probs = lm.outputSingle(false, ds.getFeatures().castTo(DataType.DOUBLE)).castTo(DataType.DOUBLE);
        INDArray labels = ds.getLabels();
        double[] out = new double[(int) probs.size(0)];
        for (int r = 0; r < out.length; r++) {
            for (int t = 0; t < batch.seqLen(); t++) {
                double sign = labels.getDouble(r, 1, t);
                if (sign != 0) {
                    out[r] += Math.log(probs.getDouble(r, labels.getInt(r, 0, t), t));
                }
            }
        }
        return out;
    }

    private static ComputationGraph preferenceGraph(ComputationGraph lm, double beta, double eps, String loss) {
        ComputationGraph g = TransformerLm.create(TransformerLm.preferenceConfiguration(M, T,
                TransformerLm.Optimiser.inferenceOnly(), DataType.DOUBLE, beta, eps, loss), M);
        TransformerLm.copyParams(lm, g);
        return g;
    }

    @Test
    void theLossIsLn2WhenPolicyEqualsReferenceAndMatchesPlainJavaOtherwise() {
        ComputationGraph lm = TransformerLm.create(M, T, TransformerLm.Optimiser.inferenceOnly(), DataType.DOUBLE);
        double[] own = responseLogProbs(lm, new PreferenceBatch(examples(new double[4]), T, 1, 0));
        ComputationGraph g = preferenceGraph(lm, 0.2, 0, DpoOutputLayer.DPO);
        // same activations as the LM head
        DataSet ds = new PreferenceBatch(examples(own), T, 1, 0).toDataSet();
        assertArrayEquals(lm.outputSingle(false, ds.getFeatures()).data().asDouble(),
                g.outputSingle(false, ds.getFeatures()).data().asDouble(), 1e-12);
        assertEquals(Math.log(2), g.score(ds), 1e-6);

        double[] refs = {own[0] - 0.7, own[1] + 0.4, own[2] + 1.3, own[3] - 0.2};
        for (double eps : new double[]{0, 0.01}) {
            ComputationGraph ge = preferenceGraph(lm, 0.2, eps, DpoOutputLayer.DPO);
            double expected = (DpoLoss.dpo(DpoLoss.h(own[0], own[1], refs[0], refs[1]), 0.2, eps)
                    + DpoLoss.dpo(DpoLoss.h(own[2], own[3], refs[2], refs[3]), 0.2, eps)) / 2;
            assertEquals(expected, ge.score(new PreferenceBatch(examples(refs), T, 1, 0).toDataSet()), 1e-5);
        }
        ComputationGraph gi = preferenceGraph(lm, 0.2, 0, DpoOutputLayer.IPO);
        double expected = (DpoLoss.ipo(DpoLoss.h(own[0], own[1], refs[0], refs[1]), 0.2)
                + DpoLoss.ipo(DpoLoss.h(own[2], own[3], refs[2], refs[3]), 0.2)) / 2;
        assertEquals(expected, gi.score(new PreferenceBatch(examples(refs), T, 1, 0).toDataSet()), 1e-5);
    }

    /**
     * The held-out metrics' log-probabilities (the final norm's output under the head's weights, chunked) are the LM's
     * softmax read at the labels, and the forward pass that gives the norm's output stops before the head: DL4J's
     * {@code feedForward(inputs, n, train)} counts n in {@code getLayers()}, and a vertex index there ran the head too.
     */
    @Test
    void theMetricsLogProbsReadTheNormWithoutRunningTheHead() {
        ComputationGraph lm = TransformerLm.create(M, T, TransformerLm.Optimiser.inferenceOnly(), DataType.DOUBLE);
        PreferenceBatch batch = new PreferenceBatch(examples(new double[4]), T, 1, 0);
        ComputationGraph g = preferenceGraph(lm, 0.2, 0, DpoOutputLayer.DPO);
        assertArrayEquals(responseLogProbs(lm, batch), PreferenceMetrics.responseLogProbs(g, batch.toDataSet()), 1e-9);

        INDArray features = batch.toDataSet().getFeatures();
        INDArray norm = TransformerLm.finalNormOutput(g, features);
        assertArrayEquals(g.feedForward(features, false).get(TransformerLm.FINAL_NORM).data().asDouble(),
                norm.data().asDouble(), 0);
        int position = java.util.Arrays.asList(g.getLayers()).indexOf(g.getLayer(TransformerLm.FINAL_NORM));
        var upToNorm = g.feedForward(new INDArray[]{features}, position, false);
        assertTrue(upToNorm.containsKey(TransformerLm.FINAL_NORM));
        assertTrue(!upToNorm.containsKey(TransformerLm.HEAD), "the head ran: " + upToNorm.keySet());
        int vertexIndex = g.getVertex(TransformerLm.FINAL_NORM).getVertexIndex();   // what the metrics passed before
        assertTrue(g.feedForward(new INDArray[]{features}, vertexIndex, false).containsKey(TransformerLm.HEAD));
    }

    @Test
    void everyParameterOfThePreferenceGraphPassesTheGradientCheck() {
        ComputationGraph lm = TransformerLm.create(M, T, TransformerLm.Optimiser.inferenceOnly(), DataType.DOUBLE);
        ComputationGraph g = preferenceGraph(lm, 0.5, 0.01, DpoOutputLayer.DPO);
        DataSet ds = new PreferenceBatch(examples(new double[]{-9, -8, -7, -12}), T, 1, 0).toDataSet();
        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(g)
                .inputs(new INDArray[]{ds.getFeatures().castTo(DataType.DOUBLE)})
                .labels(new INDArray[]{ds.getLabels().castTo(DataType.DOUBLE)})
                .epsilon(1e-6).maxRelError(1e-3).minAbsoluteError(1e-8)
                .print(GradientCheckUtil.PrintMode.FAILURES_ONLY));
        assertTrue(ok, "gradient check failed (see log for the failing parameters)");
    }

    /**
     * The eager head ({@code EagerDpoHead}: response positions only, logits in chunks) and the SameDiff head compute the
     * same score and the same gradient for every parameter, for DPO with label smoothing and for IPO, with and without
     * a head bias, with logits in chunks of 3 rows (the 11 response positions take 4 chunks).
     */
    @Test
    void theChunkedHeadMatchesTheSameDiffHeadInScoreAndEveryGradient() {
        for (boolean bias : new boolean[]{true, false}) {
            ModelConfig m = bias ? M : new ModelConfig(11, 8, 2, 2, 16, 12, 1e-5, 0.5, 3, org.rlsf.config.Architecture.gpt2());
            ComputationGraph lm = TransformerLm.create(m, T, TransformerLm.Optimiser.inferenceOnly(), DataType.DOUBLE);
            for (String loss : new String[]{DpoOutputLayer.DPO, DpoOutputLayer.IPO}) {
                DataSet ds = new PreferenceBatch(examples(new double[]{-9, -8, -7, -12}), T, 1, 0).toDataSet();
                double[] score = new double[2];
                INDArray[] grads = new INDArray[2];
                for (int k = 0; k < 2; k++) {
                    ComputationGraph g = scoredWithChunkedHead(m, lm, loss, k == 1, org.rlsf.config.LoraConfig.NONE, ds);
                    score[k] = g.score();
                    grads[k] = g.gradient().gradient().dup();
                }
                assertEquals(score[1], score[0], 1e-10, loss + " score, bias " + bias);
                double maxDiff = grads[0].sub(grads[1]).amaxNumber().doubleValue();
                assertTrue(maxDiff < 1e-9, loss + " gradients differ by " + maxDiff + ", bias " + bias);
                assertTrue(grads[0].amaxNumber().doubleValue() > 1e-4, "gradients are not trivially zero");
            }
        }
    }

    /**
     * With LoRA the head is frozen, and the eager head computes dL/dx in its scoring pass (one projection to the
     * vocabulary per step): the adapters' gradients, which all flow through that dx, match the SameDiff head's, and the
     * score computed after the backward (DL4J's order) is the same.
     */
    @Test
    void aFrozenHeadsOnePassGradientMatchesTheSameDiffHead() {
        org.rlsf.config.LoraConfig lora = new org.rlsf.config.LoraConfig(2, 4, 0, java.util.List.of("all-linear"), false);
        ComputationGraph lm = TransformerLm.create(M, T, TransformerLm.Optimiser.inferenceOnly(), DataType.DOUBLE);
        for (String loss : new String[]{DpoOutputLayer.DPO, DpoOutputLayer.IPO}) {
            DataSet ds = new PreferenceBatch(examples(new double[]{-9, -8, -7, -12}), T, 1, 0).toDataSet();
            double[] score = new double[2];
            INDArray[] grads = new INDArray[2];
            for (int k = 0; k < 2; k++) {
                ComputationGraph g = scoredWithChunkedHead(M, lm, loss, k == 1, lora, ds);
                score[k] = g.score();
                // the trainable parameters: every adapter's B (the SameDiff head also fills its frozen weights' gradient)
                List<INDArray> adapters = new ArrayList<>();
                for (String name : g.gradient().gradientForVariable().keySet()) {
                    if (name.contains("_loraB")) {
                        adapters.add(g.gradient().getGradientFor(name).reshape(-1));
                    }
                }
                assertEquals(2 * 4, adapters.size(), "GPT-2's 4 linear modules adapted in each of 2 blocks");
                grads[k] = Nd4j.concat(0, adapters.toArray(new INDArray[0]));
            }
            assertEquals(score[1], score[0], 1e-10, loss + " score");
            double maxDiff = grads[0].sub(grads[1]).amaxNumber().doubleValue();
            assertTrue(maxDiff < 1e-9, loss + " gradients differ by " + maxDiff);
            assertTrue(grads[0].amaxNumber().doubleValue() > 1e-6, "the adapters' gradients are not trivially zero");
        }
    }

    /**
     * The preference graph of {@code m} (eager or SameDiff kernels, with {@code lora}'s adapters; DPO with label
     * smoothing 0.01 or IPO, β 0.5) with {@code lm}'s weights and logits in chunks of 3 rows, after one
     * computeGradientAndScore on {@code ds} in float64.
     */
    private static ComputationGraph scoredWithChunkedHead(ModelConfig m, ComputationGraph lm, String loss, boolean sameDiff,
                                                          org.rlsf.config.LoraConfig lora, DataSet ds) {
        TransformerLm.Optimiser opt = TransformerLm.Optimiser.inferenceOnly().withSameDiffKernels(sameDiff);
        var conf = TransformerLm.preferenceConfiguration(m, T, opt, DataType.DOUBLE, 0.5,
                DpoOutputLayer.DPO.equals(loss) ? 0.01 : 0, loss, lora);
        var head = (DpoOutputLayer) ((org.deeplearning4j.nn.conf.graph.LayerVertex)
                conf.getVertices().get(TransformerLm.HEAD)).getLayerConf().getLayer();
        head.withChunkElements(3 * m.vocabSize());
        ComputationGraph g = TransformerLm.create(conf, m);
        TransformerLm.copyParams(lm, g);
        g.setInputs(ds.getFeatures().castTo(DataType.DOUBLE));
        g.setLabels(ds.getLabels().castTo(DataType.DOUBLE));
        g.computeGradientAndScore();
        return g;
    }

    @Test
    void theChunkBoundIsWhatTheLogitsMayHold() {
        // a row per 2^22 / V values: 27 rows for Qwen2's 151,936, 83 for GPT-2's 50,257, at least one
        int elements = org.rlsf.model.graph.EagerDpoHead.CHUNK_ELEMENTS;
        assertEquals(27, org.rlsf.model.graph.EagerDpoHead.chunkRows(151_936, elements));
        assertEquals(83, org.rlsf.model.graph.EagerDpoHead.chunkRows(50_257, elements));
        assertEquals(1, org.rlsf.model.graph.EagerDpoHead.chunkRows(10_000_000, elements));
    }
}
