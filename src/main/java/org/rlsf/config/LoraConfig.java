package org.rlsf.config;

import com.typesafe.config.Config;

import java.util.List;

/**
 * LoRA adapters for preference fine-tuning ({@code train.lora}): each targeted projection W gains a trainable
 * low-rank update, W + s·A·B with A [in, r] and B [r, out] (PEFT's {@code lora_A.weight} is Aᵀ, {@code lora_B.weight}
 * is Bᵀ), s = alpha / r (or alpha / √r with rsLoRA). Everything else (embeddings, norms, heads, the projections
 * themselves) stays frozen: no optimiser state, no weight decay, never shipped between driver and workers.
 *
 * <p>A is drawn once (PEFT's Kaiming-uniform: U(±1/√in)) from the model's seed and stays frozen; only B trains
 * (B starts at 0, so training starts at the base). That makes parameter averaging exact: the mean of the workers'
 * updates s·A·Bᵢ is s·A·mean(Bᵢ), which averaging A and B separately would not give (mean(B)·mean(A) ≠ mean(BA)).
 *
 * @param rank          r; 0 = full fine-tuning (no adapters)
 * @param alpha         the scale's numerator
 * @param dropout       LoRA dropout on the adapter's input; only 0 is supported (the training graph has no dropout)
 * @param targetModules Hugging Face module names the adapters attach to ({@code q_proj}, {@code c_attn}, …), or
 *                      {@code auto} for PEFT's default for the family, or {@code all-linear}
 * @param rslora        scale alpha / √r instead of alpha / r
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targetModules, boolean rslora) {
    /** Every module name (and path) of the supported families' blocks, and the two keywords. */
    private static final List<String> KNOWN = List.of("auto", "all-linear", "self_attn.q_proj", "self_attn.k_proj",
            "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj", "attn.c_attn",
            "attn.c_proj", "mlp.c_fc", "mlp.c_proj");

    /** No adapters: full fine-tuning. */
    public static final LoraConfig NONE = new LoraConfig(0, 16, 0, List.of("auto"), false);

    public LoraConfig {
        Require.that(rank >= 0 && rank <= 4096, "train.lora.rank", "in [0, 4096] (0 = full fine-tuning)", rank);
        Require.that(alpha > 0 && Double.isFinite(alpha), "train.lora.alpha", "> 0", alpha);
        Require.that(dropout == 0, "train.lora.dropout", "0 (LoRA dropout is not supported: the training graph has "
                + "no dropout anywhere)", dropout);
        Require.that(targetModules != null && !targetModules.isEmpty(), "train.lora.target-modules",
                "a non-empty list of module names, \"auto\" or \"all-linear\"", targetModules);
        targetModules = List.copyOf(targetModules);
        for (String name : targetModules) {   // a name no family has fails at load; one this model lacks, at the base
            Require.that(KNOWN.contains(name.trim()) || KNOWN.stream().anyMatch(k -> k.endsWith("." + name.trim())),
                    "train.lora.target-modules", "Hugging Face module names (" + String.join(", ", KNOWN) + ")", name);
        }
    }

    public boolean enabled() {
        return rank > 0;
    }

    /** The factor on A·B: alpha / r, or alpha / √r with rsLoRA. */
    public double scale() {
        return rslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    static LoraConfig fromConfig(Config c) {
        return new LoraConfig(c.getInt("rank"), c.getDouble("alpha"), c.getDouble("dropout"),
                c.getStringList("target-modules"), c.getBoolean("rslora"));
    }
}
