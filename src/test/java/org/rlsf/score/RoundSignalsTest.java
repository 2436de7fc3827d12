package org.rlsf.score;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The label-free round signals and the stopping rule on hand-made traces. */
class RoundSignalsTest {
    private static RoundSignals.Branch b(String prompt, int branch, String answer, double confidence, int tokens) {
        return new RoundSignals.Branch(prompt, branch, answer, confidence, tokens);
    }

    @Test
    void signalsCountAgreementConfidenceAndLength() {
        List<RoundSignals.Branch> traces = List.of(
                b("p1", 0, "6", 0.95, 10), b("p1", 1, "6", 0.2, 20), b("p1", 2, "7", 0.95, 30), b("p1", 3, null, 0.05, 40),
                b("p2", 0, "B", 0.5, 8), b("p2", 1, "B", 0.5, 8));
        RoundSignals s = RoundSignals.of(traces, 0.9);
        assertEquals(2, s.prompts());
        assertEquals(6, s.branches());
        assertEquals(2.0 / 6, s.confidentShare(), 1e-12);
        assertEquals((2.0 / 4 + 2.0 / 2) / 2, s.agreement(), 1e-12, "p1: 2 of 4 say 6 (no answer agrees with nothing); p2: 2 of 2");
        assertEquals((0.95 + 0.2 + 0.95 + 0.05 + 0.5 + 0.5) / 6, s.meanConfidence(), 1e-12);
        assertEquals(116.0 / 6, s.meanTraceTokens(), 1e-12);
        assertEquals(9.0, s.greedyTraceTokens(), 1e-12);
        // bins 9 (2), 2 (1), 0 (1), 5 (2): entropy over ln 10
        double h = -(2 * (2.0 / 6) * Math.log(2.0 / 6) + 2 * (1.0 / 6) * Math.log(1.0 / 6)) / Math.log(10);
        assertEquals(h, s.confidenceEntropy(), 1e-12);
        // every branch in one bin: entropy 0
        assertEquals(0.0, RoundSignals.of(List.of(b("p", 0, "1", 0.99, 3), b("p", 1, "2", 0.95, 3)), 0.9).confidenceEntropy(), 1e-12);
    }

    private static RoundSignals signals(double agreement, double confident, double greedyTokens) {
        return new RoundSignals(10, 100, confident, agreement, 0.5, 0.5, greedyTokens, greedyTokens);
    }

    @Test
    void theRuleKeepsRoundsUntilAgreementOrConfidenceFallsOrTheStyleDrifts() {
        // run rounds4's signals (docs/rounds.md): base, rounds 1..4; round 4 lowers both: round 3 is kept
        List<RoundSignals> measured = List.of(signals(0.793, 0.491, 7.7), signals(0.515, 0.611, 27.7),
                signals(0.567, 0.774, 28.1), signals(0.599, 0.803, 28.0), signals(0.565, 0.605, 28.8));
        StoppingRule.Decision d = StoppingRule.decide(measured);
        assertEquals(3, d.round(), d.reason());
        assertTrue(d.reason().startsWith("round 4 lowered"), d.reason());
        // round 1 is kept over the base whatever the base's signals (another decoding style)
        assertEquals(1, StoppingRule.decide(List.of(signals(0.9, 0.9, 8), signals(0.5, 0.6, 25))).round());
        // every round holds up: the last is kept
        assertEquals(3, StoppingRule.decide(measured.subList(0, 4)).round());
        // the confident share alone falling also ends it
        assertEquals(1, StoppingRule.decide(List.of(signals(0.8, 0.5, 8), signals(0.5, 0.7, 25), signals(0.6, 0.6, 25))).round());
        // a doubled greedy length after round 1 ends it
        StoppingRule.Decision drift = StoppingRule.decide(List.of(signals(0.5, 0.5, 8), signals(0.7, 0.7, 25),
                signals(0.8, 0.8, 50)));
        assertEquals(1, drift.round());
        assertTrue(drift.reason().contains("length"), drift.reason());
    }

    /** Label-free: the signals (hence the rule) see answers, confidences and lengths, never a gold answer. */
    @Test
    void nothingHereReadsAGoldAnswer() {
        for (Class<?> c : List.of(RoundSignals.class, RoundSignals.Branch.class, StoppingRule.class)) {
            List<String> names = new ArrayList<>();
            for (var f : c.getDeclaredFields()) {
                names.add(f.getName().toLowerCase());
            }
            for (var m : c.getDeclaredMethods()) {
                names.add(m.getName().toLowerCase());
            }
            assertTrue(names.stream().noneMatch(n -> n.contains("gold") || n.contains("correct") || n.contains("label")),
                    c.getSimpleName() + ": " + names);
        }
    }
}
