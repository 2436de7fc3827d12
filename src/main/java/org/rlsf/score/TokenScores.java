package org.rlsf.score;

/**
 * Per-token statistics of a trace under the frozen model, recorded while decoding: for token t,
 * {@code chosenProb[t]} = p_t(token actually in the trace), {@code bestOtherProb[t]} = max over other
 * tokens of p_t, {@code logProb[t]} = ln p_t(token), {@code entropy[t]} = −Σ p ln p (nats).
 * Probabilities are the softmax of raw logits (no temperature).
 */
public record TokenScores(float[] chosenProb, float[] bestOtherProb, float[] logProb, float[] entropy) {
    public TokenScores {
        int n = chosenProb.length;
        if (bestOtherProb.length != n || logProb.length != n || entropy.length != n) {
            throw new IllegalArgumentException("token score arrays differ in length");
        }
    }

    public int length() {
        return chosenProb.length;
    }

    /** Statistics of one next-token distribution (natural-log probabilities) for the chosen token. */
    public static float[] of(float[] logProbs, int chosen) {
        double best = 0;
        double entropy = 0;
        for (int v = 0; v < logProbs.length; v++) {
            double p = Math.exp(logProbs[v]);
            if (v != chosen) {
                best = Math.max(best, p);
            }
            if (p > 0) {
                entropy -= p * logProbs[v];
            }
        }
        return new float[]{(float) Math.exp(logProbs[chosen]), (float) best, logProbs[chosen], (float) entropy};
    }

    /** Sum of log-probs over [from, to): the trace's log-likelihood of that part (DPO's reference log-prob). */
    public double sumLogProb(int from, int to) {
        double s = 0;
        for (int t = from; t < to; t++) {
            s += logProb[t];
        }
        return s;
    }
}
