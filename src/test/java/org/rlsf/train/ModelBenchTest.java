package org.rlsf.train;

import org.junit.jupiter.api.Test;
import org.rlsf.config.ModelConfig;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The benchmark measures every figure bench/run compares, single and concurrent; the values are not judged. */
class ModelBenchTest {

    @Test
    void everyFigureIsMeasuredAndPositive() {
        ModelConfig model = new ModelConfig(40, 16, 1, 2, 32, 64, 1e-5, 0.3, 7);
        Map<String, String> out = ModelBench.run(model,
                new ModelBench.Settings(16, 4, 1, 1, 4, 6, List.of(2), 5L, 2, org.rlsf.config.ComputeConfig.defaults()));
        assertEquals(String.valueOf(model.parameterCount()), out.get("parameters"));
        for (String k : List.of("train_tokens_per_s", "dpo_tokens_per_s", "dpo_pairs_per_s", "gen_batch2_tokens_per_s",
                "cot_decoding_prompts_per_s", "cot_decoding_tokens_per_s", "train_tokens_per_s_workers2",
                "dpo_tokens_per_s_workers2", "gen_batch2_tokens_per_s_workers2")) {
            assertTrue(out.containsKey(k), "missing " + k + " in " + out.keySet());
            assertTrue(Double.parseDouble(out.get(k)) > 0, k + " = " + out.get(k));
        }
    }
}
