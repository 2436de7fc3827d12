package org.rlsf.config;

import com.typesafe.config.Config;

/**
 * The tokenizer a pretraining run builds.
 *
 * @param kind     "word": a closed vocabulary of words with their leading space, digits, punctuation, characters
 * @param maxVocab vocabulary size at most
 */
public record TokenizerConfig(String kind, int maxVocab) {
    public TokenizerConfig {
        Require.that(kind.equals("word"), "tokenizer.kind", "word", "\"" + kind + "\"");
        Require.that(maxVocab >= 4, "tokenizer.max-vocab", ">= 4", maxVocab);
    }

    static TokenizerConfig fromConfig(Config c) {
        return new TokenizerConfig(c.getString("kind"), c.getInt("max-vocab"));
    }
}
