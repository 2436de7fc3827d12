package org.rlsf.score;

import java.util.function.IntToDoubleFunction;

/**
 * Answer-span confidence measures (method.md §1.3). The default, {@link #margin}, is the paper's:
 * c = (1/M) Σ_t [p_t(top1) − p_t(top2)] over the span. Written as p_t(chosen) − max_{other} p_t, it is
 * exactly that under greedy continuation, and for a forced first token that is not top-1 it gives
 * p_t(chosen) − p_t(best other), which can be ≤ 0 (the branch-1 rule). An empty span scores 0.
 */
public final class Confidence {
    private Confidence() {
    }

    public static double margin(TokenScores s, Span span) {
        return meanOver(span, t -> s.chosenProb()[t] - s.bestOtherProb()[t]);
    }

    /** Mean probability of the span's tokens; 0 for an empty span. */
    public static double meanProbability(TokenScores s, Span span) {
        return meanOver(span, t -> s.chosenProb()[t]);
    }

    /** Negative mean entropy (nats) of the span's next-token distributions; 0 for an empty span. */
    public static double negativeEntropy(TokenScores s, Span span) {
        return -meanOver(span, t -> s.entropy()[t]);
    }

    private static double meanOver(Span span, IntToDoubleFunction perToken) {
        if (span.isEmpty()) {
            return 0;
        }
        double sum = 0;
        for (int t = span.start(); t < span.end(); t++) {
            sum += perToken.applyAsDouble(t);
        }
        return sum / span.length();
    }
}
