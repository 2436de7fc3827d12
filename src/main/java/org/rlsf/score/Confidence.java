package org.rlsf.score;

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
        if (span.isEmpty()) {
            return 0;
        }
        double sum = 0;
        for (int t = span.start(); t < span.end(); t++) {
            sum += s.chosenProb()[t] - s.bestOtherProb()[t];
        }
        return sum / span.length();
    }

    /** Mean probability of the span's tokens; 0 for an empty span. */
    public static double meanProbability(TokenScores s, Span span) {
        if (span.isEmpty()) {
            return 0;
        }
        double sum = 0;
        for (int t = span.start(); t < span.end(); t++) {
            sum += s.chosenProb()[t];
        }
        return sum / span.length();
    }

    /** Negative mean entropy (nats) of the span's next-token distributions; 0 for an empty span. */
    public static double negativeEntropy(TokenScores s, Span span) {
        if (span.isEmpty()) {
            return 0;
        }
        double sum = 0;
        for (int t = span.start(); t < span.end(); t++) {
            sum += s.entropy()[t];
        }
        return -sum / span.length();
    }
}
