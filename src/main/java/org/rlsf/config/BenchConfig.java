package org.rlsf.config;

import com.typesafe.config.Config;

import java.util.List;

/**
 * {@code rlsf bench model}: the shapes it measures (the model's other sizes come from {@link ModelConfig}).
 *
 * @param vocabSize    vocabulary of the random model
 * @param seqLen       training sequence length
 * @param batch        training batch
 * @param trainSteps   timed training steps
 * @param warmupSteps  untimed steps (and generations) first
 * @param promptTokens prompt length of a generation
 * @param newTokens    tokens generated per row
 * @param genBatches   generation batch sizes
 * @param workers      concurrent workers also measured; 0 = the number of cores, 1 = off
 */
public record BenchConfig(int vocabSize, int seqLen, int batch, int trainSteps, int warmupSteps, int promptTokens,
                          int newTokens, List<Integer> genBatches, int workers) {
    public BenchConfig {
        Require.that(vocabSize >= 4, "bench.model.vocab-size", ">= 4", vocabSize);
        Require.that(seqLen >= 2, "bench.model.seq-len", ">= 2", seqLen);
        Require.that(batch >= 1, "bench.model.batch", ">= 1", batch);
        Require.that(trainSteps >= 1, "bench.model.train-steps", ">= 1", trainSteps);
        Require.that(warmupSteps >= 0, "bench.model.warmup-steps", ">= 0", warmupSteps);
        Require.that(promptTokens >= 1, "bench.model.prompt-tokens", ">= 1", promptTokens);
        Require.that(newTokens >= 1, "bench.model.new-tokens", ">= 1", newTokens);
        Require.that(!genBatches.isEmpty() && genBatches.stream().allMatch(b -> b >= 1), "bench.model.gen-batches",
                "a non-empty list of sizes >= 1", genBatches);
        Require.that(workers >= 0, "bench.model.workers", ">= 0", workers);
        genBatches = List.copyOf(genBatches);
    }

    static BenchConfig fromConfig(Config c) {
        return new BenchConfig(c.getInt("vocab-size"), c.getInt("seq-len"), c.getInt("batch"), c.getInt("train-steps"),
                c.getInt("warmup-steps"), c.getInt("prompt-tokens"), c.getInt("new-tokens"), c.getIntList("gen-batches"),
                c.getInt("workers"));
    }
}
