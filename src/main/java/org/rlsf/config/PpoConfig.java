package org.rlsf.config;

import com.typesafe.config.Config;

/**
 * RLSF-PPO ({@code rlsf ppo}, method.md §6.2): the policy (from the base) against a frozen reward model, a value model
 * from the reward model, the frozen base as the KL reference. Defaults from the paper where it gives them.
 *
 * @param rounds            rollout-then-update rounds
 * @param promptsPerRound   fresh prompts per round (the corpus is walked in order, wrapping around only when used up)
 * @param temperature       sampling temperature of the rollouts (the ratio and the KL use the policy's own log-probs)
 * @param maxNewTokens      response tokens at most
 * @param klCoef            β_KL of the per-token KL penalty
 * @param gamma             GAE discount
 * @param lambda            GAE λ
 * @param clip              ε of the clipped surrogate
 * @param valueClip         clip range of the value loss
 * @param epochs            PPO epochs over each round's rollouts
 * @param rowsPerBatch      rollouts per minibatch on a worker
 * @param learningRate      the policy's Adam learning rate
 * @param valueLearningRate the value model's Adam learning rate
 * @param shards            rollout shards per round (Spark tasks)
 * @param seed              sampling and shuffling seed
 */
public record PpoConfig(int rounds, int promptsPerRound, double temperature, int maxNewTokens, double klCoef, double gamma,
                        double lambda, double clip, double valueClip, int epochs, int rowsPerBatch, double learningRate,
                        double valueLearningRate, int shards, long seed) {
    public PpoConfig {
        Require.that(rounds >= 1, "ppo.rounds", ">= 1", rounds);
        Require.that(promptsPerRound >= 1, "ppo.prompts-per-round", ">= 1", promptsPerRound);
        Require.that(temperature > 0, "ppo.temperature", "> 0", temperature);
        Require.that(maxNewTokens >= 1, "ppo.max-new-tokens", ">= 1", maxNewTokens);
        Require.that(klCoef >= 0, "ppo.kl-coef", ">= 0", klCoef);
        Require.that(gamma > 0 && gamma <= 1, "ppo.gamma", "in (0, 1]", gamma);
        Require.that(lambda >= 0 && lambda <= 1, "ppo.lambda", "in [0, 1]", lambda);
        Require.that(clip > 0 && clip < 1, "ppo.clip", "in (0, 1)", clip);
        Require.that(valueClip > 0, "ppo.value-clip", "> 0", valueClip);
        Require.that(epochs >= 1, "ppo.epochs", ">= 1", epochs);
        Require.that(rowsPerBatch >= 1, "ppo.rows-per-batch", ">= 1", rowsPerBatch);
        Require.that(learningRate > 0, "ppo.learning-rate", "> 0", learningRate);
        Require.that(valueLearningRate > 0, "ppo.value-learning-rate", "> 0", valueLearningRate);
        Require.that(shards >= 1, "ppo.shards", ">= 1", shards);
    }

    static PpoConfig fromConfig(Config c) {
        return new PpoConfig(c.getInt("rounds"), c.getInt("prompts-per-round"), c.getDouble("temperature"),
                c.getInt("max-new-tokens"), c.getDouble("kl-coef"), c.getDouble("gamma"), c.getDouble("lambda"),
                c.getDouble("clip"), c.getDouble("value-clip"), c.getInt("epochs"), c.getInt("rows-per-batch"),
                c.getDouble("learning-rate"), c.getDouble("value-learning-rate"), c.getInt("shards"), c.getLong("seed"));
    }
}
