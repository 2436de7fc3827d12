package org.rlsf.config;

import com.typesafe.config.Config;

/**
 * Preference fine-tuning (DPO) of the policy against the frozen base, on Spark with parameter averaging.
 *
 * @param loss               DPO or IPO
 * @param beta               DPO β (method.md default 0.2)
 * @param labelSmoothing     DPO ε (0 = plain DPO; 0.01 = the paper's label-smoothed setting)
 * @param learningRate       peak Adam learning rate
 * @param warmupSteps        linear warm-up steps
 * @param minLrFraction      final learning rate as a fraction of the peak (linear decay)
 * @param weightDecay        decoupled weight decay
 * @param gradClip           per-layer L2 gradient-norm clip
 * @param epochs             passes over the training pairs
 * @param pairsPerBatch      pairs per minibatch on each worker (2 rows each)
 * @param averagingFrequency minibatches each worker fits between parameter averagings
 * @param workers            parallel workers; 0 = Spark's default parallelism
 * @param heldoutFraction    share of prompts whose pairs are held out for the metrics
 * @param heldoutMaxPairs    cap on held-out pairs
 * @param select             which epoch's weights become the final checkpoint
 * @param seed               shuffling / split seed
 * @param lengthBucket       0 = every minibatch padded to the longest pair; n > 0 = pairs of similar length share
 *                           an averaging round, padded to its longest pair rounded up to a multiple of n
 * @param heldoutEveryRounds held-out metrics every this many averaging rounds; 0 = at the end of each epoch only
 * @param lengthMultiple     the training length is the longest pair rounded up to this; 0 = by the natives in use
 *                           (8 with oneDNN, 1 otherwise)
 * @param lora               LoRA adapters ({@link LoraConfig#NONE}: full fine-tuning)
 */
public record TrainConfig(Loss loss, double beta, double labelSmoothing, double learningRate, int warmupSteps,
                          double minLrFraction, double weightDecay, double gradClip, int epochs, int pairsPerBatch,
                          int averagingFrequency, int workers, double heldoutFraction, int heldoutMaxPairs,
                          Selection select, long seed, int lengthBucket, int heldoutEveryRounds, int lengthMultiple,
                          LoraConfig lora) {
    /** The preference loss (method.md §1.6): DPO's −log σ(βh), or IPO's (h − 1/(2β))². */
    public enum Loss {
        DPO, IPO;

        public String configName() {
            return Require.configName(this);
        }
    }

    /** Which epoch becomes the final checkpoint: the last, or the lowest held-out DPO loss (label-free, method.md §5.4). */
    public enum Selection {
        LAST, BEST_HELDOUT_LOSS;

        public String configName() {
            return Require.configName(this);
        }
    }

    /** Full fine-tuning (no LoRA adapters). */
    public TrainConfig(Loss loss, double beta, double labelSmoothing, double learningRate, int warmupSteps,
                       double minLrFraction, double weightDecay, double gradClip, int epochs, int pairsPerBatch,
                       int averagingFrequency, int workers, double heldoutFraction, int heldoutMaxPairs,
                       Selection select, long seed, int lengthBucket, int heldoutEveryRounds, int lengthMultiple) {
        this(loss, beta, labelSmoothing, learningRate, warmupSteps, minLrFraction, weightDecay, gradClip, epochs,
                pairsPerBatch, averagingFrequency, workers, heldoutFraction, heldoutMaxPairs, select, seed, lengthBucket,
                heldoutEveryRounds, lengthMultiple, LoraConfig.NONE);
    }

    public TrainConfig {
        require(loss != null, "loss must be set, was null");
        require(beta > 0, "beta must be > 0, was " + beta);
        require(labelSmoothing >= 0 && labelSmoothing < 0.5, "label-smoothing must be in [0, 0.5), was " + labelSmoothing);
        require(learningRate > 0 && Double.isFinite(learningRate), "learning-rate must be > 0, was " + learningRate);
        require(warmupSteps >= 0, "warmup-steps must be >= 0, was " + warmupSteps);
        require(minLrFraction >= 0 && minLrFraction <= 1, "min-lr-fraction must be in [0,1], was " + minLrFraction);
        require(weightDecay >= 0, "weight-decay must be >= 0, was " + weightDecay);
        require(gradClip > 0, "grad-clip must be > 0, was " + gradClip);
        require(epochs > 0, "epochs must be > 0, was " + epochs);
        require(pairsPerBatch > 0, "pairs-per-batch must be > 0, was " + pairsPerBatch);
        require(averagingFrequency > 0, "averaging-frequency must be > 0, was " + averagingFrequency);
        require(workers >= 0, "workers must be >= 0, was " + workers);
        require(heldoutFraction >= 0 && heldoutFraction < 1, "heldout-fraction must be in [0,1), was " + heldoutFraction);
        require(heldoutMaxPairs >= 0, "heldout-max-pairs must be >= 0, was " + heldoutMaxPairs);
        require(select != null, "select must be set, was null");
        require(lengthBucket >= 0, "length-bucket must be >= 0, was " + lengthBucket);
        require(heldoutEveryRounds >= 0, "heldout-every-rounds must be >= 0, was " + heldoutEveryRounds);
        require(lengthMultiple >= 0, "length-multiple must be >= 0, was " + lengthMultiple);
        require(lora != null, "lora must be set, was null");
    }

    static TrainConfig fromConfig(Config c) {
        return new TrainConfig(Require.choice("train.loss", c.getString("loss"), Loss.class), c.getDouble("beta"), c.getDouble("label-smoothing"),
                c.getDouble("learning-rate"), c.getInt("warmup-steps"), c.getDouble("min-lr-fraction"),
                c.getDouble("weight-decay"), c.getDouble("grad-clip"), c.getInt("epochs"), c.getInt("pairs-per-batch"),
                c.getInt("averaging-frequency"), c.getInt("workers"), c.getDouble("heldout-fraction"),
                c.getInt("heldout-max-pairs"),
                Require.choice("train.select", c.getString("select"), Selection.class), c.getLong("seed"),
                c.getInt("length-bucket"), c.getInt("heldout-every-rounds"), c.getInt("length-multiple"),
                LoraConfig.fromConfig(c.getConfig("lora")));
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("rlsf.train." + message);
        }
    }
}
