package org.rlsf.config;

import com.typesafe.config.Config;

/**
 * Decoding settings for {@code rlsf sample}.
 *
 * @param maxNewTokens generated tokens per prompt at most (EOS stops earlier)
 * @param temperature  0 = greedy; otherwise softmax temperature
 * @param topK         0 = no truncation; otherwise sample among the k most probable tokens
 * @param seed         sampling seed (each prompt row draws from its own seeded stream)
 */
public record SampleConfig(int maxNewTokens, double temperature, int topK, long seed) {
    public SampleConfig {
        if (maxNewTokens <= 0) {
            throw new IllegalArgumentException("rlsf.sample.max-new-tokens must be > 0, was " + maxNewTokens);
        }
        if (temperature < 0 || !Double.isFinite(temperature)) {
            throw new IllegalArgumentException("rlsf.sample.temperature must be >= 0, was " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("rlsf.sample.top-k must be >= 0, was " + topK);
        }
    }

    static SampleConfig fromConfig(Config c) {
        return new SampleConfig(c.getInt("max-new-tokens"), c.getDouble("temperature"), c.getInt("top-k"),
                c.getLong("seed"));
    }
}
