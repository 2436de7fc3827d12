package org.rlsf.train;

import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.rlsf.TestSpark;
import org.rlsf.config.ModelConfig;
import org.rlsf.config.TrainConfig;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.graph.DpoOutputLayer;
import org.rlsf.pairs.PreferenceExample;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DPO training invariants on a small pair set: it learns, moves every parameter, and averaging is exact. */
class PreferenceTrainingTest {
    private static final ModelConfig M = new ModelConfig(14, 16, 2, 2, 32, 16, 1e-5, 0.1, 5);
    private static final int T = 10;

    private static TrainConfig cfg(int pairsPerBatch, int freq) {
        return new TrainConfig(TrainConfig.Loss.DPO, 0.5, 0, 3e-3, 0, 1.0, 0, 1.0, 1, pairsPerBatch, freq, 1, 0, 0, TrainConfig.Selection.LAST, 3, 0, 0, 0);
    }

    static List<PreferenceExample> pairs(int n) {
        Random rng = new Random(8);
        List<PreferenceExample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] prompt = {3 + rng.nextInt(10), 3 + rng.nextInt(10)};
            // chosen: continue with the prompt's first token; rejected: any other token
            int[] chosen = {prompt[0], 2};
            int[] rejected = {3 + (prompt[0] - 3 + 1 + rng.nextInt(9)) % 10, 2};
            out.add(new PreferenceExample("p" + i, "q" + i, prompt, chosen, rejected, 0, 0));
        }
        return out;
    }

    private static ComputationGraph policy(ComputationGraph lm, TrainConfig c) {
        ComputationGraph g = TransformerLm.create(TransformerLm.preferenceConfiguration(M, T,
                new TransformerLm.Optimiser(c.learningRate(), 0, 100, 1.0, 0, 1.0), DataType.FLOAT, c.beta(), 0,
                DpoOutputLayer.DPO), M);
        TransformerLm.copyParams(lm, g);
        return g;
    }

    /** The reference log-probs of the base for each example (what the traces table would hold). */
    static List<PreferenceExample> withReference(ComputationGraph lm, List<PreferenceExample> ex) {
        double[] own = PreferenceGraphTest.responseLogProbs(lm, new PreferenceBatch(ex, T, 1, 0));
        List<PreferenceExample> out = new ArrayList<>();
        for (int i = 0; i < ex.size(); i++) {
            PreferenceExample e = ex.get(i);
            out.add(new PreferenceExample(e.pairId(), e.promptId(), e.prompt(), e.chosen(), e.rejected(), own[2 * i], own[2 * i + 1]));
        }
        return out;
    }

    @Test
    void trainingOnASmallPairSetRaisesRewardAccuracyAndMovesEveryParameter() {
        ComputationGraph lm = TransformerLm.create(M, T, TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT);
        List<PreferenceExample> ex = withReference(lm, pairs(12));
        TrainConfig c = cfg(4, 1);
        ComputationGraph g = policy(lm, c);
        List<PreferenceBatch> batches = DpoPlan.batches(ex, 4, -1, T, 1, 0);
        PreferenceMetrics before = PreferenceMetrics.of(g, batches, c);
        assertEquals(Math.log(2), before.loss(), 1e-5);
        for (int step = 0; step < 30; step++) {
            g.fit(batches.get(step % batches.size()).toDataSet());
        }
        PreferenceMetrics after = PreferenceMetrics.of(g, batches, c);
        assertTrue(after.accuracy() > 0.9 && after.accuracy() > before.accuracy(), before + " -> " + after);
        assertTrue(after.margins() > 0.5 && after.loss() < before.loss(), before + " -> " + after);
        for (Layer layer : lm.getLayers()) {
            for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
                INDArray now = g.getLayer(layer.conf().getLayer().getLayerName()).getParam(p.getKey());
                assertTrue(now.reshape(p.getValue().shape()).sub(p.getValue()).norm2Number().doubleValue() > 0,
                        layer.conf().getLayer().getLayerName() + "/" + p.getKey() + " did not move");
            }
        }
    }

    @Test
    void oneWorkerWithAveragingEqualsASingleMachineFit() {
        ComputationGraph lm = TransformerLm.create(M, T, TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT);
        List<PreferenceExample> ex = withReference(lm, pairs(12));
        TrainConfig c = cfg(2, 3);
        List<PreferenceBatch> batches = DpoPlan.batches(ex, 2, 5, T, 1, 0);   // 6 batches = 2 rounds of 3
        ComputationGraph single = policy(lm, c);
        for (PreferenceBatch b : batches) {
            single.fit(b.toDataSet());
        }
        ComputationGraph g = policy(lm, c);
        IterationCarryOver carryOver = new IterationCarryOver();
        SparkComputationGraph spark = new SparkComputationGraph(TestSpark.context(), g, PairTrainer.trainingMaster(1, c, carryOver));
        for (int r = 0; r < 2; r++) {
            JavaRDD<DataSet> rdd = TestSpark.context().parallelize(new ArrayList<>(batches.subList(3 * r, 3 * r + 3)), 1)
                    .map(PreferenceBatch::toDataSet);
            carryOver.startIteration(g.getConfiguration().getIterationCount());
            spark.fit(rdd);
            g = spark.getNetwork();
        }
        assertEquals(6, g.getConfiguration().getIterationCount());
        double diff = g.params().sub(single.params()).amaxNumber().doubleValue();
        assertTrue(diff < 1e-5, "max |param difference| " + diff);
    }
}
