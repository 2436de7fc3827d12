package org.rlsf.config;

import com.typesafe.config.Config;

/**
 * Accuracy and calibration on a labelled corpus ({@code rlsf evaluate}). Decoding limits, span method and batch rows
 * come from {@link GenerateConfig}, so a confidence means the same as in the traces table.
 *
 * @param decoding greedy (one branch) or CoT-decoding (k branches, prediction from the most confident one)
 * @param k        CoT-decoding branches
 * @param shards   work shards (Spark tasks)
 */
public record EvaluateConfig(Decoding decoding, int k, int shards) {
    /** How the evaluated model decodes (method.md §1.7). */
    public enum Decoding {
        GREEDY, COT_DECODING;

        public String configName() {
            return Require.configName(this);
        }

        /** Parses a {@code --decoding} value or the config's {@code evaluate.decoding}. */
        public static Decoding parse(String value) {
            return Require.choice("evaluate.decoding", value, Decoding.class);
        }
    }

    public EvaluateConfig {
        Require.that(decoding != null, "evaluate.decoding", "set", null);
        Require.that(k >= 1, "evaluate.k", ">= 1", k);
        Require.that(shards >= 1, "evaluate.shards", ">= 1", shards);
    }

    /** Branches decoded per problem: 1 for greedy, k for CoT-decoding. */
    public int branches(Decoding mode) {
        return mode == Decoding.GREEDY ? 1 : k;
    }

    static EvaluateConfig fromConfig(Config c) {
        return new EvaluateConfig(Decoding.parse(c.getString("decoding")), c.getInt("k"), c.getInt("shards"));
    }
}
