package org.rlsf.pairs;

import java.io.Serializable;

/**
 * One preference pair as training reads it: prompt tokens (without BOS), the chosen and the rejected response's
 * tokens, and the frozen model's summed log-probs of each response (DPO's reference, method.md §1.5).
 */
public record PreferenceExample(String pairId, String promptId, int[] prompt, int[] chosen, int[] rejected,
                                double refChosen, double refRejected) implements Serializable {
    /** Tokens fed + predicted for the longer of the two rows, i.e. the graph length it needs. */
    public int length() {
        return prompt.length + Math.max(chosen.length, rejected.length);
    }
}
