package org.rlsf.model;

import java.util.Arrays;
import java.util.Random;

/**
 * Picks the next token from a row's log-probabilities. Greedy is deterministic (ties → lowest id);
 * sampling draws from the caller's seeded {@link Random}.
 */
@FunctionalInterface
public interface TokenChooser {
    int choose(float[] logProbs, Random rng);

    static TokenChooser greedy() {
        return (lp, rng) -> argmax(lp);
    }

    /** Temperature sampling, optionally among the {@code topK} most probable tokens; temperature 0 = greedy. */
    static TokenChooser sampling(double temperature, int topK) {
        if (temperature == 0) {
            return greedy();
        }
        return (lp, rng) -> {
            int v = lp.length;
            double cutoff = Double.NEGATIVE_INFINITY;
            if (topK > 0 && topK < v) {
                float[] sorted = lp.clone();
                Arrays.sort(sorted);
                cutoff = sorted[v - topK];
            }
            double max = Double.NEGATIVE_INFINITY;
            for (float x : lp) {
                max = Math.max(max, x);
            }
            double[] w = new double[v];
            double total = 0;
            for (int i = 0; i < v; i++) {
                w[i] = lp[i] < cutoff ? 0 : Math.exp((lp[i] - max) / temperature);
                total += w[i];
            }
            double r = rng.nextDouble() * total;
            for (int i = 0; i < v; i++) {
                r -= w[i];
                if (r < 0) {
                    return i;
                }
            }
            return argmax(lp);
        };
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }
}
