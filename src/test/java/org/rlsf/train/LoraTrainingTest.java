package org.rlsf.train;

import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.TestSpark;
import org.rlsf.config.Architecture;
import org.rlsf.config.LoraConfig;
import org.rlsf.config.ModelConfig;
import org.rlsf.config.TrainConfig;
import org.rlsf.model.LoraTargets;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.graph.DpoOutputLayer;
import org.rlsf.pairs.PreferenceExample;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DPO with LoRA adapters: only the adapters' B matrices move (weight decay and clipping included), the merged policy
 * is the adapter graph's function, and parameter averaging of adapters is exact: one worker equals a single-machine
 * fit, and two workers' averaged adapter is the mean of their updates, with only the trainable values travelling.
 */
class LoraTrainingTest {
    private static final ModelConfig M = new ModelConfig(14, 16, 2, 2, 32, 16, 1e-5, 0.1, 5);
    private static final ModelConfig LLAMA = new ModelConfig(14, 16, 2, 4, 24, 16, 1e-5, 0.1, 5,
            Architecture.llama(2, 10000, null, true, false, false));
    private static final int T = 10;
    private static final LoraConfig LORA = new LoraConfig(4, 8, 0, List.of("all-linear"), false);

    private static TrainConfig cfg(int pairsPerBatch, int freq, int workers) {
        return new TrainConfig(TrainConfig.Loss.DPO, 0.5, 0, 1e-2, 0, 1.0, 0.01, 1.0, 1, pairsPerBatch, freq, workers, 0,
                0, TrainConfig.Selection.LAST, 3, 0, 0, 0, LORA);
    }

    private static ComputationGraph policy(ModelConfig m, ComputationGraph lm, TrainConfig c) {
        ComputationGraph g = TransformerLm.create(TransformerLm.preferenceConfiguration(m, T,
                new TransformerLm.Optimiser(c.learningRate(), 0, 100, 1.0, c.weightDecay(), c.gradClip()), DataType.FLOAT,
                c.beta(), 0, DpoOutputLayer.DPO, c.lora()), m);
        TransformerLm.copyParams(lm, g);
        return g;
    }

    private static boolean isB(String name) {
        return name.startsWith("loraB");
    }

    @Test
    void onlyTheAdaptersTrainAndThePolicyLearns() {
        for (ModelConfig m : List.of(M, LLAMA)) {
            ComputationGraph lm = TransformerLm.create(m, T, TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT);
            List<PreferenceExample> ex = PreferenceTrainingTest.withReference(lm, PreferenceTrainingTest.pairs(12));
            TrainConfig c = cfg(4, 1, 1);
            ComputationGraph g = policy(m, lm, c);
            ComputationGraph start = g.clone();
            List<PreferenceBatch> batches = DpoPlan.batches(ex, 4, -1, T, 1, 0);
            PreferenceMetrics before = PreferenceMetrics.of(g, batches, c);
            assertEquals(Math.log(2), before.loss(), 1e-5, "B = 0: the policy starts at the base");
            for (int step = 0; step < 40; step++) {
                g.fit(batches.get(step % batches.size()).toDataSet());
            }
            PreferenceMetrics after = PreferenceMetrics.of(g, batches, c);
            assertTrue(after.loss() < before.loss() - 0.05 && after.accuracy() > before.accuracy(), before + " -> " + after);
            long bParams = 0;
            for (Layer layer : g.getLayers()) {
                String name = layer.conf().getLayer().getLayerName();
                for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
                    INDArray was = start.getLayer(name).getParam(p.getKey());
                    if (isB(p.getKey())) {
                        bParams += p.getValue().length();
                        assertTrue(p.getValue().sub(was).norm2Number().doubleValue() > 0, name + "/" + p.getKey() + " did not move");
                    } else {
                        assertEquals(was, p.getValue(), name + "/" + p.getKey() + " is frozen but moved");
                    }
                }
            }
            assertEquals(bParams, TrainableSlices.of(g).total());
            assertEquals(2 * bParams, g.getUpdater().getStateViewArray().length(), "Adam state for the B matrices only");
        }
    }

    @Test
    void theMergedPolicyComputesWhatTheAdapterGraphComputes() {
        for (ModelConfig m : List.of(M, LLAMA)) {
            ComputationGraph adapters = TransformerLm.create(TransformerLm.configuration(m, T,
                    TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT, LORA), m);
            Nd4j.getRandom().setSeed(5);
            for (Layer layer : adapters.getLayers()) {
                for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
                    if (isB(p.getKey())) {
                        p.getValue().assign(Nd4j.randn(DataType.FLOAT, p.getValue().shape()).muli(0.3));
                    }
                }
            }
            ComputationGraph merged = TransformerLm.create(m, T, TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT);
            TransformerLm.copyParams(adapters, merged);
            assertTrue(TransformerLm.hasLora(adapters) && !TransformerLm.hasLora(merged));
            INDArray tokens = Nd4j.createFromArray(new float[][]{{1, 4, 7, 3, 9, 5, 2, 0, 0, 0}, {1, 8, 6, 2, 3, 3, 3, 3, 3, 3}});
            INDArray a = adapters.outputSingle(tokens), b = merged.outputSingle(tokens);
            ComputationGraph base = TransformerLm.create(m, T, TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT);
            double moved = base.outputSingle(tokens).sub(a).amaxNumber().doubleValue();
            double diff = a.sub(b).amaxNumber().doubleValue();
            assertTrue(moved > 1e-3, "the adapters change the output (by " + moved + ")");
            assertTrue(diff < 1e-5, "merged vs adapters: max |p difference| " + diff);
        }
    }

    @Test
    void oneWorkerWithAveragingEqualsASingleMachineFitAndOnlyTheAdaptersTravel() {
        ComputationGraph lm = TransformerLm.create(M, T, TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT);
        List<PreferenceExample> ex = PreferenceTrainingTest.withReference(lm, PreferenceTrainingTest.pairs(12));
        TrainConfig c = cfg(2, 3, 1);
        List<PreferenceBatch> batches = DpoPlan.batches(ex, 2, 5, T, 1, 0);   // 6 batches = 2 rounds of 3
        ComputationGraph single = policy(M, lm, c);
        for (PreferenceBatch b : batches) {
            single.fit(b.toDataSet());
        }
        ComputationGraph g = policy(M, lm, c);
        IterationCarryOver carryOver = new IterationCarryOver();
        OrderedAveraging master = (OrderedAveraging) PairTrainer.trainingMaster(1, c, carryOver);
        SparkComputationGraph spark = new SparkComputationGraph(TestSpark.context(), g, master);
        for (int r = 0; r < 2; r++) {
            JavaRDD<DataSet> rdd = TestSpark.context().parallelize(new ArrayList<>(batches.subList(3 * r, 3 * r + 3)), 1)
                    .map(PreferenceBatch::toDataSet);
            carryOver.startIteration(g.getConfiguration().getIterationCount());
            spark.fit(rdd);
            g = spark.getNetwork();
        }
        assertEquals(6, g.getConfiguration().getIterationCount());
        double diff = g.params().sub(single.params()).amaxNumber().doubleValue();
        assertTrue(diff < 1e-6, "max |param difference| " + diff);
        long b = TrainableSlices.of(g).total();
        assertEquals(4 * 3 * b, master.lastRoundBytesEachWay(), "B and its two Adam moments, float32");
        assertTrue(master.lastRoundBytesEachWay() < 4 * g.numParams(), "a round ships less than the model");
    }

    @Test
    void twoWorkersAverageTheirAdapterUpdates() {
        ComputationGraph lm = TransformerLm.create(LLAMA, T, TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT);
        List<PreferenceExample> ex = PreferenceTrainingTest.withReference(lm, PreferenceTrainingTest.pairs(8));
        TrainConfig c = cfg(2, 2, 2);
        List<PreferenceBatch> batches = DpoPlan.batches(ex, 2, -1, T, 1, 0);   // 4 batches: 2 per worker
        // each worker's fit alone, from the same start
        List<ComputationGraph> alone = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            ComputationGraph one = policy(LLAMA, lm, c);
            one.fit(batches.get(2 * w).toDataSet());
            one.fit(batches.get(2 * w + 1).toDataSet());
            alone.add(one);
        }
        ComputationGraph g = policy(LLAMA, lm, c);
        IterationCarryOver carryOver = new IterationCarryOver();
        SparkComputationGraph spark = new SparkComputationGraph(TestSpark.context(), g, PairTrainer.trainingMaster(2, c, carryOver));
        carryOver.startIteration(0);
        spark.fit(TestSpark.context().parallelize(new ArrayList<>(batches), 2).map(PreferenceBatch::toDataSet));
        g = spark.getNetwork();
        ComputationGraph start = policy(LLAMA, lm, c);
        for (int layer = 0; layer < LLAMA.nLayers(); layer++) {
            String name = TransformerLm.block(layer);
            var targets = ((org.rlsf.model.graph.TransformerBlock) g.getLayer(name).conf().getLayer()).loraTargets();
            for (int i = 0; i < targets.size(); i++) {
                INDArray a = g.getLayer(name).getParam(LoraTargets.paramA(i));
                assertEquals(start.getLayer(name).getParam(LoraTargets.paramA(i)), a, "A stays as drawn");
                // the averaged update s·A·B equals the mean of the workers' updates s·A·B_w
                INDArray averaged = a.mmul(g.getLayer(name).getParam(LoraTargets.paramB(i)));
                INDArray meanOfUpdates = a.mmul(alone.get(0).getLayer(name).getParam(LoraTargets.paramB(i)))
                        .addi(a.mmul(alone.get(1).getLayer(name).getParam(LoraTargets.paramB(i)))).divi(2);
                double diff = averaged.sub(meanOfUpdates).amaxNumber().doubleValue();
                assertTrue(meanOfUpdates.amaxNumber().doubleValue() > 1e-4, "the workers moved " + name + " " + targets.get(i));
                assertTrue(diff < 1e-6, name + " " + targets.get(i).module() + ": |mean(update) - update(mean)| " + diff);
            }
        }
        for (Layer layer : g.getLayers()) {
            for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
                if (!isB(p.getKey())) {
                    assertEquals(start.getLayer(layer.conf().getLayer().getLayerName()).getParam(p.getKey()), p.getValue());
                }
            }
        }
    }
}
