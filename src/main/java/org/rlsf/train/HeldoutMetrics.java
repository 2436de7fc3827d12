package org.rlsf.train;

import java.util.Map;

/** What a pair objective measures on the held-out pairs: the loss (epoch selection, divergence) and named values. */
public interface HeldoutMetrics {
    int pairs();

    double loss();

    /** False when a value that must be finite is not (training stops). */
    boolean finite();

    /** The values for {@code metrics.jsonl} and the log, in order, the loss included (TRL's names where TRL has them). */
    Map<String, Double> values();
}
