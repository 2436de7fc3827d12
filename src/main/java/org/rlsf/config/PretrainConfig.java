package org.rlsf.config;

import com.typesafe.config.Config;

/**
 * Language-model pretraining on Spark with parameter averaging.
 *
 * @param seqLen              training graph sequence length (tokens incl. BOS/EOS of a document, minus one)
 * @param epochs              passes over the training split
 * @param batchSizePerWorker  examples per minibatch on each worker
 * @param averagingFrequency  minibatches each worker fits between parameter averagings
 * @param workers             parallel workers; 0 = Spark's default parallelism
 * @param learningRate        peak Adam learning rate
 * @param warmupSteps         linear warm-up steps
 * @param minLrFraction       final learning rate as a fraction of the peak (linear decay)
 * @param weightDecay         decoupled weight decay on weights (not biases / norm gains)
 * @param gradClip            per-layer L2 gradient-norm clip
 * @param heldoutFraction     share of documents held out for the loss
 * @param heldoutMaxExamples  cap on held-out documents
 * @param evalEveryRounds     held-out loss every N averaging rounds
 * @param seed                shuffling / split seed
 * @param cotFraction         share of task problems rendered with their chain-of-thought solution
 *                            (the rest get the direct one) when pretraining on a Parquet task corpus
 * @param cotOpenerLossFraction share of those chain-of-thought documents whose first solution token
 *                            (the CoT opener) is trained; on the rest it is fed but not predicted, so
 *                            greedy decoding can keep the direct style while the CoT stays learnt
 *                            (method.md §5.6)
 */
public record PretrainConfig(int seqLen, int epochs, int batchSizePerWorker, int averagingFrequency, int workers,
                             double learningRate, int warmupSteps, double minLrFraction, double weightDecay,
                             double gradClip, double heldoutFraction, int heldoutMaxExamples, int evalEveryRounds,
                             long seed, double cotFraction, double cotOpenerLossFraction) {
    public PretrainConfig {
        require(seqLen > 1, "seq-len must be > 1, was " + seqLen);
        require(epochs > 0, "epochs must be > 0, was " + epochs);
        require(batchSizePerWorker > 0, "batch-size-per-worker must be > 0, was " + batchSizePerWorker);
        require(averagingFrequency > 0, "averaging-frequency must be > 0, was " + averagingFrequency);
        require(workers >= 0, "workers must be >= 0, was " + workers);
        require(learningRate > 0 && Double.isFinite(learningRate), "learning-rate must be > 0, was " + learningRate);
        require(warmupSteps >= 0, "warmup-steps must be >= 0, was " + warmupSteps);
        require(minLrFraction >= 0 && minLrFraction <= 1, "min-lr-fraction must be in [0,1], was " + minLrFraction);
        require(weightDecay >= 0, "weight-decay must be >= 0, was " + weightDecay);
        require(gradClip > 0, "grad-clip must be > 0, was " + gradClip);
        require(heldoutFraction >= 0 && heldoutFraction < 1, "heldout-fraction must be in [0,1), was " + heldoutFraction);
        require(heldoutMaxExamples >= 0, "heldout-max-examples must be >= 0, was " + heldoutMaxExamples);
        require(cotFraction >= 0 && cotFraction <= 1, "cot-fraction must be in [0,1], was " + cotFraction);
        require(cotOpenerLossFraction >= 0 && cotOpenerLossFraction <= 1,
                "cot-opener-loss-fraction must be in [0,1], was " + cotOpenerLossFraction);
        require(evalEveryRounds > 0, "eval-every-rounds must be > 0, was " + evalEveryRounds);
    }

    static PretrainConfig fromConfig(Config c) {
        return new PretrainConfig(c.getInt("seq-len"), c.getInt("epochs"), c.getInt("batch-size-per-worker"),
                c.getInt("averaging-frequency"), c.getInt("workers"), c.getDouble("learning-rate"),
                c.getInt("warmup-steps"), c.getDouble("min-lr-fraction"), c.getDouble("weight-decay"),
                c.getDouble("grad-clip"), c.getDouble("heldout-fraction"), c.getInt("heldout-max-examples"),
                c.getInt("eval-every-rounds"), c.getLong("seed"), c.getDouble("cot-fraction"),
                c.getDouble("cot-opener-loss-fraction"));
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("rlsf.pretrain." + message);
        }
    }
}
