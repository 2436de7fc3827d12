package org.rlsf.config;

/** How a prompt's ranked traces become preference pairs (method.md §1.4). */
public enum PairPolicy {
    /** Every ordered pair (i, j) with c_i ≥ threshold and c_i > c_j (ties skipped). */
    ALL_ABOVE_THRESHOLD,
    /** One pair per prompt: the most confident trace (if ≥ threshold) against the least confident one. */
    BEST_VS_WORST;

    public static PairPolicy parse(String s) {
        return switch (s.trim().toLowerCase().replace('_', '-')) {
            case "all", "all-above-threshold" -> ALL_ABOVE_THRESHOLD;
            case "best-vs-worst" -> BEST_VS_WORST;
            default -> throw new IllegalArgumentException("rlsf.pairs.policy must be one of all-above-threshold | best-vs-worst, was \"" + s + "\"");
        };
    }

    public String configName() {
        return this == ALL_ABOVE_THRESHOLD ? "all-above-threshold" : "best-vs-worst";
    }
}
