package org.rlsf.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.rlsf.config.ModelConfig;
import org.rlsf.config.TrainConfig;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.graph.DpoOutputLayer;
import org.rlsf.pairs.PreferenceExample;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DPO rounds grouped by pair length, and the graph-per-length training they need. */
class LengthGroupingTest {
    private static final int MAX = 40;

    private static TrainConfig cfg(int pairsPerBatch, int freq, int bucket) {
        return new TrainConfig(TrainConfig.Loss.DPO, 0.5, 0, 3e-3, 0, 1.0, 0, 1.0, 1, pairsPerBatch, freq, 1, 0, 0, TrainConfig.Selection.LAST, 3, bucket, 0, 0);
    }

    /** Pairs of varied lengths: prompt 2..9 tokens, responses 1..25. */
    private static List<PreferenceExample> pairs(int n) {
        Random rng = new Random(21);
        List<PreferenceExample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] prompt = new int[2 + rng.nextInt(8)];
            int[] chosen = new int[1 + rng.nextInt(25)];
            int[] rejected = new int[1 + rng.nextInt(25)];
            Arrays.fill(prompt, 3);
            Arrays.fill(chosen, 4);
            Arrays.fill(rejected, 5);
            out.add(new PreferenceExample(String.format("p%03d", i), "q" + i, prompt, chosen, rejected, 0, 0));
        }
        return out;
    }

    private static List<String> ids(List<DpoPlan.Round> rounds) {
        return rounds.stream().flatMap(r -> r.batches().stream()).flatMap(b -> b.pairs().stream())
                .map(PreferenceExample::pairId).toList();
    }

    private static long paddedPositions(List<DpoPlan.Round> rounds) {
        return rounds.stream().flatMap(r -> r.batches().stream()).mapToLong(b -> (long) b.pairs().size() * b.seqLen()).sum();
    }

    @Test
    void theTrainingLengthIsTheLongestPairRoundedUpWithinTheContext() {
        assertEquals(95, DpoPlan.trainingLength(95, 256, 1));
        assertEquals(96, DpoPlan.trainingLength(95, 256, 8));
        assertEquals(96, DpoPlan.trainingLength(96, 256, 8));
        assertEquals(250, DpoPlan.trainingLength(250, 250, 8), "never past the context");
    }

    @Test
    void withoutGroupingTheRoundsAreTheShuffledBatchesInOrderAtFullLength() {
        List<PreferenceExample> ex = pairs(50);
        List<DpoPlan.Round> rounds = DpoPlan.rounds(ex, cfg(4, 3, 0), 2, 7, MAX, 1, 0);
        List<PreferenceBatch> batches = DpoPlan.batches(ex, 4, 7, MAX, 1, 0);
        assertEquals(3, rounds.size());   // 13 batches, 6 per round
        assertEquals(batches.stream().flatMap(b -> b.pairs().stream()).map(PreferenceExample::pairId).toList(), ids(rounds));
        rounds.forEach(r -> assertEquals(MAX, r.seqLen()));
        rounds.forEach(r -> r.batches().forEach(b -> assertEquals(MAX, b.seqLen())));
    }

    @Test
    void groupedRoundsHoldEveryPairOnceInAsManyRoundsWithLessPadding() {
        List<PreferenceExample> ex = pairs(200);
        TrainConfig c = cfg(4, 3, 8);
        List<DpoPlan.Round> grouped = DpoPlan.rounds(ex, c, 2, 7, MAX, 1, 0);
        List<DpoPlan.Round> plain = DpoPlan.rounds(ex, cfg(4, 3, 0), 2, 7, MAX, 1, 0);
        assertEquals(plain.size(), grouped.size(), "the same number of averaging rounds per epoch");
        assertEquals(ex.stream().map(PreferenceExample::pairId).sorted().toList(),
                ids(grouped).stream().sorted().toList(), "every pair exactly once");
        for (DpoPlan.Round r : grouped) {
            int longest = r.batches().stream().flatMap(b -> b.pairs().stream()).mapToInt(PreferenceExample::length).max().orElseThrow();
            assertTrue(r.seqLen() >= longest && r.seqLen() <= MAX, r.seqLen() + " for a longest pair of " + longest);
            assertTrue(r.seqLen() == MAX || r.seqLen() % 8 == 0, "a multiple of the bucket: " + r.seqLen());
            assertTrue(r.seqLen() - longest < 8, "no more than one bucket of padding: " + r.seqLen() + " vs " + longest);
            r.batches().forEach(b -> assertEquals(r.seqLen(), b.seqLen()));
            assertTrue(r.batches().size() <= 6);
        }
        assertTrue(paddedPositions(grouped) < 0.85 * paddedPositions(plain),
                paddedPositions(grouped) + " vs " + paddedPositions(plain) + " padded positions");
        assertEquals(ids(grouped), ids(DpoPlan.rounds(ex, c, 2, 7, MAX, 1, 0)), "seeded: a rerun repeats the order");
        assertNotEquals(ids(grouped), ids(DpoPlan.rounds(ex, c, 2, 8, MAX, 1, 0)), "another epoch, another order");
    }

    @Test
    void aGraphOfAnotherLengthContinuesTheSameTraining() {
        ModelConfig m = new ModelConfig(14, 16, 2, 2, 32, MAX, 1e-5, 0.1, 5);
        List<PreferenceExample> ex = new ArrayList<>();
        Random rng = new Random(3);
        for (int i = 0; i < 8; i++) {
            int[] prompt = {3 + rng.nextInt(10), 3 + rng.nextInt(10), 3 + rng.nextInt(10)};
            ex.add(new PreferenceExample("p" + i, "q" + i, prompt, new int[]{prompt[0], 4, 2},
                    new int[]{3 + rng.nextInt(10), 2}, -5, -5));
        }
        TransformerLm.Optimiser opt = new TransformerLm.Optimiser(3e-3, 0, 100, 1.0, 0, 1.0);
        ComputationGraph full = TransformerLm.create(TransformerLm.preferenceConfiguration(m, MAX, opt, DataType.FLOAT, 0.5, 0,
                DpoOutputLayer.DPO), m);
        for (int step = 0; step < 3; step++) {   // Adam moments and the step counter are no longer trivial
            full.fit(new PreferenceBatch(ex.subList(2 * step, 2 * step + 4), MAX, 1, 0).toDataSet());
        }
        ComputationGraph shorter = TransformerLm.create(TransformerLm.preferenceConfiguration(m, 8, opt, DataType.FLOAT, 0.5, 0,
                DpoOutputLayer.DPO), m);
        PairTrainer.moveState(full, shorter);
        assertEquals(3, shorter.getConfiguration().getIterationCount());
        org.nd4j.linalg.api.ndarray.INDArray before = full.params().dup();
        full.fit(new PreferenceBatch(ex.subList(4, 8), MAX, 1, 0).toDataSet());      // the run goes on at full length ...
        shorter.fit(new PreferenceBatch(ex.subList(4, 8), 8, 1, 0).toDataSet());     // ... or on the short graph
        double moved = full.params().sub(before).amaxNumber().doubleValue();
        double diff = full.params().sub(shorter.params()).amaxNumber().doubleValue();
        assertTrue(moved > 1e-3, "the step moved the weights: " + moved);
        assertTrue(diff < 1e-5, "padding to 8 or to " + MAX + " gives the same step: max |difference| " + diff);
        double[] a = full.getUpdater(true).getStateViewArray().toDoubleVector();
        double[] b = shorter.getUpdater(true).getStateViewArray().toDoubleVector();
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        assertTrue(worst < 1e-5, "and the same optimiser state: " + worst);
    }
}
