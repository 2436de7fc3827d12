package org.rlsf.pairs;

import java.io.Serializable;

/**
 * One preference pair as training reads it: prompt tokens (without BOS), the chosen and the rejected response's
 * tokens, the frozen model's summed log-probs of each response (DPO's reference, method.md §1.5), and the confidence
 * gap {@code c_chosen − c_rejected} the pair was ranked by (the reward model's margin, method.md §6.1).
 */
public record PreferenceExample(String pairId, String promptId, int[] prompt, int[] chosen, int[] rejected,
                                double refChosen, double refRejected, double confidenceGap) implements Serializable {
    /** A pair whose confidence gap is not needed (DPO). */
    public PreferenceExample(String pairId, String promptId, int[] prompt, int[] chosen, int[] rejected,
                             double refChosen, double refRejected) {
        this(pairId, promptId, prompt, chosen, rejected, refChosen, refRejected, 0);
    }

    /** Tokens fed + predicted for the longer of the two rows, i.e. the graph length it needs. */
    public int length() {
        return prompt.length + Math.max(chosen.length, rejected.length);
    }
}
