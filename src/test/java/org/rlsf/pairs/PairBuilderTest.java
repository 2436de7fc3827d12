package org.rlsf.pairs;

import org.junit.jupiter.api.Test;
import org.rlsf.config.PairPolicy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PairBuilderTest {
    private static List<Candidate> candidates(double... conf) {
        List<Candidate> out = new ArrayList<>();
        for (int i = 0; i < conf.length; i++) {
            out.add(new Candidate(i, "t" + i, new int[]{i}, String.valueOf(i), conf[i], -i));
        }
        return out;
    }

    private static Set<String> describe(List<PairBuilder.Pair> pairs) {
        return pairs.stream().map(p -> String.format("%.2f>%.2f m%.6f", p.chosen().confidence(), p.rejected().confidence(), p.margin()))
                .collect(Collectors.toSet());
    }

    @Test
    void methodVectorAllOrderedPairsAboveThreshold() {
        List<PairBuilder.Pair> pairs = PairBuilder.build(candidates(0.95, 0.80, 0.92, 0.40), PairPolicy.ALL_ABOVE_THRESHOLD, 0.9, 0);
        assertEquals(Set.of("0.95>0.80 m1.161834", "0.95>0.92 m1.030455", "0.95>0.40 m1.733253",
                "0.92>0.80 m1.127497", "0.92>0.40 m1.682028"), describe(pairs));
    }

    @Test
    void tiesAreSkippedAndNothingAboveThresholdGivesNoPairs() {
        assertEquals(Set.of("0.95>0.50 m1.568312"), describe(PairBuilder.build(candidates(0.95, 0.95, 0.5),
                PairPolicy.ALL_ABOVE_THRESHOLD, 0.9, 0)).stream().collect(Collectors.toSet()));
        assertEquals(2, PairBuilder.build(candidates(0.95, 0.95, 0.5), PairPolicy.ALL_ABOVE_THRESHOLD, 0.9, 0).size(),
                "each of the tied traces beats 0.5; they are not paired with each other");
        assertTrue(PairBuilder.build(candidates(0.85, 0.2), PairPolicy.ALL_ABOVE_THRESHOLD, 0.9, 0).isEmpty());
        assertTrue(PairBuilder.build(candidates(0.95), PairPolicy.ALL_ABOVE_THRESHOLD, 0.9, 0).isEmpty());
    }

    @Test
    void bestVsWorstGivesOnePairPerPrompt() {
        List<PairBuilder.Pair> p = PairBuilder.build(candidates(0.95, 0.80, 0.92, 0.40), PairPolicy.BEST_VS_WORST, 0.9, 0);
        assertEquals(Set.of("0.95>0.40 m1.733253"), describe(p));
        assertTrue(PairBuilder.build(candidates(0.85, 0.4), PairPolicy.BEST_VS_WORST, 0.9, 0).isEmpty());
        assertTrue(PairBuilder.build(candidates(0.95, 0.95), PairPolicy.BEST_VS_WORST, 0.9, 0).isEmpty());
    }

    @Test
    void theCapKeepsTheHighestMarginPairsInRankOrder() {
        List<PairBuilder.Pair> p = PairBuilder.build(candidates(0.95, 0.80, 0.92, 0.40), PairPolicy.ALL_ABOVE_THRESHOLD, 0.9, 2);
        assertEquals(List.of("0.95>0.40", "0.92>0.40"), p.stream()
                .map(x -> String.format("%.2f>%.2f", x.chosen().confidence(), x.rejected().confidence())).toList());
        assertThrows(IllegalArgumentException.class, () -> PairBuilder.build(candidates(1), PairPolicy.BEST_VS_WORST, 0.9, -1));
    }

    @Test
    void theSameTracesInAnyOrderGiveTheSamePairs() {
        List<Candidate> c = candidates(0.95, 0.80, 0.92, 0.40, 0.97);
        List<Candidate> shuffled = new ArrayList<>(c);
        java.util.Collections.shuffle(shuffled, new java.util.Random(4));
        assertEquals(PairBuilder.build(c, PairPolicy.ALL_ABOVE_THRESHOLD, 0.9, 0).toString(),
                PairBuilder.build(shuffled, PairPolicy.ALL_ABOVE_THRESHOLD, 0.9, 0).toString());
    }

    @Test
    void policyNamesParse() {
        assertEquals(PairPolicy.BEST_VS_WORST, PairPolicy.parse("best-vs-worst"));
        assertEquals(PairPolicy.ALL_ABOVE_THRESHOLD, PairPolicy.parse("all-above-threshold"));
        assertThrows(IllegalArgumentException.class, () -> PairPolicy.parse("top-2"));
    }
}
