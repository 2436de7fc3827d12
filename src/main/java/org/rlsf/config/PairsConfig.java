package org.rlsf.config;

import com.typesafe.config.Config;

/**
 * Preference pairs from the traces ({@code rlsf pairs}, method.md §1.4).
 *
 * @param policy            which ordered pairs of a prompt's traces become pairs
 * @param threshold         the chosen trace's confidence must be at least this
 * @param maxPairsPerPrompt 0 = no cap; else the highest-margin pairs of each prompt are kept
 */
public record PairsConfig(PairPolicy policy, double threshold, int maxPairsPerPrompt) {
    public PairsConfig {
        Require.that(policy != null, "pairs.policy", "set", null);
        Require.that(threshold >= -1 && threshold <= 1, "pairs.threshold", "in [-1, 1] (a margin confidence)", threshold);
        Require.that(maxPairsPerPrompt >= 0, "pairs.max-pairs-per-prompt", ">= 0", maxPairsPerPrompt);
    }

    static PairsConfig fromConfig(Config c) {
        return new PairsConfig(PairPolicy.parse(c.getString("policy")), c.getDouble("threshold"),
                c.getInt("max-pairs-per-prompt"));
    }
}
