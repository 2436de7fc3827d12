package org.rlsf.io;

import com.fasterxml.jackson.core.type.TypeReference;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a checkpoint records about how it was made ({@code lineage.json}), as typed records per stage. A stage adds
 * per-epoch facts (epochs completed, steps, held-out metrics, time) to {@link #asMap} before each save.
 */
public final class Lineage {
    private Lineage() {
    }

    /** A pretrained base: corpora (qualified paths or builtin: names), the data mix, seeds and shapes. */
    public record Pretrain(String stage, List<String> corpus, double cotFraction, double cotOpenerLossFraction, int documents,
                           long seed, long modelSeed, int seqLen, int workers, String configHash, String codeVersion) {
        public static Pretrain of(List<String> corpus, double cotFraction, double cotOpenerLossFraction, int documents,
                                  long seed, long modelSeed, int seqLen, int workers, String configHash, String codeVersion) {
            return new Pretrain("pretrain", List.copyOf(corpus), cotFraction, cotOpenerLossFraction, documents, seed,
                    modelSeed, seqLen, workers, configHash, codeVersion);
        }
    }

    /** A preference-trained policy: the pairs (and run) it learnt from, its base, the objective and its settings. */
    public record Train(String stage, String method, String pairs, String runId, int pairsTotal, int trainPairs,
                        int heldoutPairs, String base, String baseWeightsSha256, double beta, double labelSmoothing,
                        double learningRate, int epochs, long seed, String configHash, String codeVersion) {
        public static Train of(String method, String pairs, String runId, int pairsTotal, int trainPairs, int heldoutPairs,
                               String base, String baseWeightsSha256, double beta, double labelSmoothing,
                               double learningRate, int epochs, long seed, String configHash, String codeVersion) {
            return new Train("train", method, pairs, runId, pairsTotal, trainPairs, heldoutPairs, base, baseWeightsSha256,
                    beta, labelSmoothing, learningRate, epochs, seed, configHash, codeVersion);
        }
    }

    /** A reward model trained on the pairs of {@code pairs} (run {@code runId}) from the base's trunk. */
    public record RewardModel(String stage, String kind, String margin, String pairs, String runId, int pairsTotal,
                              int trainPairs, int heldoutPairs, String base, String baseWeightsSha256, double learningRate,
                              int epochs, long seed, String configHash, String codeVersion) {
        public static final String KIND = "reward-model";

        public static RewardModel of(String margin, String pairs, String runId, int pairsTotal, int trainPairs,
                                     int heldoutPairs, String base, String baseWeightsSha256, double learningRate, int epochs,
                                     long seed, String configHash, String codeVersion) {
            return new RewardModel("reward-model", KIND, margin, pairs, runId, pairsTotal, trainPairs, heldoutPairs, base,
                    baseWeightsSha256, learningRate, epochs, seed, configHash, codeVersion);
        }
    }

    /** A policy tuned by RLSF-PPO against a reward model, from the base, on a prompt corpus. */
    public record Ppo(String stage, String kind, String corpus, int prompts, String base, String baseWeightsSha256,
                      String rewardModel, String rewardModelWeightsSha256, int rounds, int promptsPerRound, double klCoef,
                      double learningRate, long seed, String configHash, String codeVersion) {
        public static final String KIND = "ppo";

        public static Ppo of(String corpus, int prompts, String base, String baseWeightsSha256, String rewardModel,
                             String rewardModelWeightsSha256, int rounds, int promptsPerRound, double klCoef,
                             double learningRate, long seed, String configHash, String codeVersion) {
            return new Ppo("ppo", KIND, corpus, prompts, base, baseWeightsSha256, rewardModel, rewardModelWeightsSha256,
                    rounds, promptsPerRound, klCoef, learningRate, seed, configHash, codeVersion);
        }
    }

    /** The record as the ordered snake_case map a checkpoint stores (nulls kept). */
    public static Map<String, Object> asMap(Record lineage) {
        return new LinkedHashMap<>(Json.MAPPER.convertValue(lineage, new TypeReference<LinkedHashMap<String, Object>>() { }));
    }
}
