package org.rlsf.config;

import com.typesafe.config.Config;

/**
 * The Bradley–Terry reward model on the pairs ({@code rlsf reward-model}, method.md §6.1). Batching, averaging,
 * held-out split, warm-up, decay, clipping, length grouping and seed are {@code train}'s, so the reward model sees the
 * same rounds DPO would.
 *
 * @param margin       the pair's margin in the loss: exp(c_c − c_r) (the paper's code), or none (plain Bradley–Terry)
 * @param learningRate peak Adam learning rate
 * @param epochs       passes over the training pairs
 * @param select       which epoch becomes the reward model: the last, or the lowest held-out loss
 */
public record RewardConfig(Margin margin, double learningRate, int epochs, TrainConfig.Selection select) {
    /** The margin term m of {@code −log σ(r_c − r_r − m)}. */
    public enum Margin {
        CONFIDENCE, NONE;

        public String configName() {
            return Require.configName(this);
        }
    }

    public RewardConfig {
        Require.that(margin != null, "reward.margin", "set", null);
        Require.that(learningRate > 0 && Double.isFinite(learningRate), "reward.learning-rate", "> 0", learningRate);
        Require.that(epochs >= 1, "reward.epochs", ">= 1", epochs);
        Require.that(select != null, "reward.select", "set", null);
    }

    static RewardConfig fromConfig(Config c) {
        return new RewardConfig(Require.choice("reward.margin", c.getString("margin"), Margin.class),
                c.getDouble("learning-rate"), c.getInt("epochs"),
                Require.choice("reward.select", c.getString("select"), TrainConfig.Selection.class));
    }

    /** {@code train}'s settings with this section's learning rate, epochs and selection: what the trainer runs. */
    public TrainConfig trainer(TrainConfig train) {
        return new TrainConfig(train.loss(), train.beta(), train.labelSmoothing(), learningRate, train.warmupSteps(),
                train.minLrFraction(), train.weightDecay(), train.gradClip(), epochs, train.pairsPerBatch(),
                train.averagingFrequency(), train.workers(), train.heldoutFraction(), train.heldoutMaxPairs(), select,
                train.seed(), train.lengthBucket(), train.heldoutEveryRounds(), train.lengthMultiple());
    }
}
