package org.rlsf.score;

import java.util.List;

/**
 * Which RLSF round to keep, read from label-free signals only ({@link RoundSignals} of each policy's own traces on
 * fresh prompts, the base's first). Self-consistency — how often a policy's K branches agree on an answer — is what
 * self-feedback can raise while it helps; once a round no longer raises it by at least {@link #MIN_GAIN}, or the
 * policy's greedy answers grow or shrink by more than {@link #MAX_LENGTH_DRIFT} of the previous policy's length
 * (a change of style, not of skill), the rounds after it are not kept. Rounds are kept in order: the first round that
 * fails ends the search, and the previous one is kept (0 = the base).
 */
public final class StoppingRule {
    /** Agreement must rise by at least this much (absolute share of branches) for a round to be kept. */
    public static final double MIN_GAIN = 0.01;
    /** A greedy length change beyond this fraction of the previous policy's ends the rounds. */
    public static final double MAX_LENGTH_DRIFT = 0.25;
    public static final String DESCRIPTION = "keep rounds in order while each raises branch agreement on fresh prompts "
            + "by >= " + MIN_GAIN + " and changes the greedy answer length by <= " + (int) (100 * MAX_LENGTH_DRIFT)
            + "%; keep the last such round";

    private StoppingRule() {
    }

    /** The kept round and why. */
    public record Decision(int round, String reason) {
    }

    /** @param policies signals of policy 0 (the base), 1, …, N, each from its own traces */
    public static Decision decide(List<RoundSignals> policies) {
        if (policies.size() < 2) {
            throw new IllegalArgumentException("need the base's and at least one round's signals");
        }
        for (int r = 1; r < policies.size(); r++) {
            RoundSignals prev = policies.get(r - 1), cur = policies.get(r);
            double gain = cur.agreement() - prev.agreement();
            double drift = Math.abs(cur.greedyTraceTokens() - prev.greedyTraceTokens()) / Math.max(1, prev.greedyTraceTokens());
            if (gain < MIN_GAIN) {
                return new Decision(r - 1, String.format("round %d raised agreement by %+.3f (< %.2f)", r, gain, MIN_GAIN));
            }
            if (r > 1 && drift > MAX_LENGTH_DRIFT) {
                return new Decision(r - 1, String.format("round %d changed the greedy length by %.0f%% (> %.0f%%)", r,
                        100 * drift, 100 * MAX_LENGTH_DRIFT));
            }
        }
        return new Decision(policies.size() - 1, "every round raised agreement by >= " + MIN_GAIN);
    }
}
