package org.rlsf.score;

import java.util.List;

/**
 * Which RLSF round to keep, read from label-free signals only ({@link RoundSignals} of each policy's own traces on
 * fresh prompts). Round 1 is always kept over the base: it changes the decoding style (the base answers directly,
 * the policy reasons first), so the base's signals are not comparable with the rounds' (the base's direct answers
 * agree with each other more than reasoned branches do). From round 2 on, a round is kept while it does not lower
 * self-consistency — the share of branches that agree on the prompt's most common answer — nor the share of confident
 * branches by more than {@link #TOLERANCE}, and keeps the greedy answer length within {@link #MAX_LENGTH_DRIFT} of the
 * previous round's; the first round that fails ends the search and the one before it is kept.
 *
 * <p>Why these: in the measured curves (docs/rounds.md, run {@code rounds4}) the collapse of round 4 (held-out accuracy
 * 84.0% → 65.7%) came with falling agreement (0.599 → 0.565) and a falling confident share (0.803 → 0.605), while the
 * rounds before it raised both. What the signals cannot see is a round that grows more confident without growing more
 * accurate (round 2 there: both signals up, accuracy 87.0% → 78.8%): confidence in its own mistakes is exactly what
 * self-feedback cannot measure.
 */
public final class StoppingRule {
    /** A fall of agreement or of the confident share beyond this (absolute share of branches) ends the rounds. */
    public static final double TOLERANCE = 0.01;
    /** A greedy length change beyond this fraction of the previous round's ends the rounds. */
    public static final double MAX_LENGTH_DRIFT = 0.25;
    public static final String DESCRIPTION = "round 1 over the base; then keep rounds in order while neither branch "
            + "agreement nor the confident-branch share on fresh prompts falls by more than " + TOLERANCE
            + " and the greedy answer length changes by <= " + (int) (100 * MAX_LENGTH_DRIFT) + "%; keep the last such round";

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
        for (int r = 2; r < policies.size(); r++) {
            RoundSignals prev = policies.get(r - 1), cur = policies.get(r);
            double agreement = cur.agreement() - prev.agreement(), confident = cur.confidentShare() - prev.confidentShare();
            double drift = Math.abs(cur.greedyTraceTokens() - prev.greedyTraceTokens()) / Math.max(1, prev.greedyTraceTokens());
            if (agreement < -TOLERANCE || confident < -TOLERANCE) {
                return new Decision(r - 1, String.format("round %d lowered branch agreement by %+.3f and the confident "
                        + "share by %+.3f", r, agreement, confident));
            }
            if (drift > MAX_LENGTH_DRIFT) {
                return new Decision(r - 1, String.format("round %d changed the greedy length by %.0f%% (> %.0f%%)", r,
                        100 * drift, 100 * MAX_LENGTH_DRIFT));
            }
        }
        return new Decision(policies.size() - 1, policies.size() == 2 ? "a single round"
                : "no round lowered agreement or the confident share");
    }
}
