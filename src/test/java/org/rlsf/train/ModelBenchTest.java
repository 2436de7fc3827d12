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

    @Test
    void theDpoStepWithLoraShipsOnlyTheAdaptersPerRound() {
        ModelConfig model = new ModelConfig(40, 16, 2, 2, 32, 64, 1e-5, 0.3, 7);
        ModelBench.Settings s = new ModelBench.Settings(16, 4, 1, 1, 4, 6, List.of(2), 5L, 1,
                org.rlsf.config.ComputeConfig.defaults());
        Map<String, String> full = ModelBench.dpo(model, s, org.rlsf.config.LoraConfig.NONE);
        Map<String, String> lora = ModelBench.dpo(model, s, new org.rlsf.config.LoraConfig(2, 4, 0, List.of("auto"), false));
        long params = model.parameterCount();
        assertEquals(String.valueOf(params), full.get("trainable_parameters"));
        assertEquals(String.valueOf(12 * params), full.get("bytes_per_round_each_way"), "parameters + Adam's two moments");
        long b = 2L * 2 * 3 * 16;   // 2 layers x B [r=2, 3d] on c_attn
        assertEquals(String.valueOf(b), lora.get("trainable_parameters"));
        assertEquals(String.valueOf(12 * b), lora.get("bytes_per_round_each_way"));
        for (Map<String, String> out : List.of(full, lora)) {
            assertTrue(Double.parseDouble(out.get("dpo_tokens_per_s")) > 0);
        }
    }
}
