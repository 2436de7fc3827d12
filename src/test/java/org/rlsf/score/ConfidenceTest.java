package org.rlsf.score;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ConfidenceTest {
    private static TokenScores scores(float[] chosen, float[] other) {
        return new TokenScores(chosen, other, new float[chosen.length], new float[chosen.length]);
    }

    @Test
    void methodMdVectors() {
        // method.md §3: (top1, top2) = (0.70, 0.20), (0.90, 0.05) -> 0.675; (0.6, 0.3), (0.9, 0.05) -> 0.575
        assertEquals(0.675, Confidence.margin(scores(new float[]{0.7f, 0.9f}, new float[]{0.2f, 0.05f}), new Span(0, 2)), 1e-6);
        assertEquals(0.575, Confidence.margin(scores(new float[]{0.6f, 0.9f}, new float[]{0.3f, 0.05f}), new Span(0, 2)), 1e-6);
    }

    @Test
    void onlyTheSpanCountsAndAnEmptySpanScoresZero() {
        TokenScores s = scores(new float[]{0.1f, 0.7f, 0.9f, 0.2f}, new float[]{0.8f, 0.2f, 0.05f, 0.1f});
        assertEquals(0.675, Confidence.margin(s, new Span(1, 3)), 1e-6);
        assertEquals(0.0, Confidence.margin(s, Span.NONE));
        assertEquals(0.8, Confidence.meanProbability(s, new Span(1, 3)), 1e-6);
    }

    @Test
    void aForcedFirstTokenBelowTopOneGivesANegativeMargin() {
        // branch k > 1: p(chosen) = 0.2, best other = 0.7 -> -0.5
        TokenScores s = scores(new float[]{0.2f}, new float[]{0.7f});
        assertEquals(-0.5, Confidence.margin(s, new Span(0, 1)), 1e-6);
    }

    @Test
    void tokenStatisticsFromADistribution() {
        float[] lp = {(float) Math.log(0.7), (float) Math.log(0.2), (float) Math.log(0.1)};
        float[] greedy = TokenScores.of(lp, 0);
        assertEquals(0.7, greedy[0], 1e-6);
        assertEquals(0.2, greedy[1], 1e-6);
        assertEquals(Math.log(0.7), greedy[2], 1e-6);
        assertEquals(-(0.7 * Math.log(0.7) + 0.2 * Math.log(0.2) + 0.1 * Math.log(0.1)), greedy[3], 1e-6);
        assertEquals(0.7, TokenScores.of(lp, 2)[1], 1e-6);   // forced token 2: best other is top-1
    }
}
