package org.rlsf.model;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Where LoRA adapters attach in one transformer block, named as Hugging Face names the modules: which of our fused
 * weights ({@code wqkv}, {@code wo}, {@code w1}, {@code w2}; stored [in, out]) and which column range of it each
 * module is. The Llama family's q/k/v and gate/up projections are column blocks of our fused weights; GPT-2's
 * {@code c_attn} is the whole of {@code wqkv} as in Hugging Face, and its two {@code c_proj} are {@code wo} and
 * {@code w2}. rlsf's own model has GPT-2's layout and names. Plain Java: the graph layer and the PEFT export share it.
 */
public final class LoraTargets {
    /** PEFT's default targets for the Llama family. */
    public static final List<String> LLAMA_DEFAULT = List.of("q_proj", "v_proj");
    /** PEFT's default target for GPT-2. */
    public static final List<String> GPT2_DEFAULT = List.of("c_attn");

    private LoraTargets() {
    }

    /**
     * One adapted module of a block.
     *
     * @param module    the module's path inside a Hugging Face block ({@code self_attn.q_proj}, {@code attn.c_attn})
     * @param param     our block parameter holding its weight ({@code wqkv}, {@code wo}, {@code w1}, {@code w2})
     * @param colOffset the module's first column in that parameter
     * @param in        input features (rows)
     * @param out       output features (columns from {@code colOffset})
     */
    public record Target(String module, String param, int colOffset, int in, int out) {
    }

    /**
     * The modules {@code names} select in a block of these sizes, in a fixed order (the order of the block's weights,
     * then columns), each once.
     *
     * @param llama the Llama family's block (SwiGLU MLP, separate q/k/v names) rather than GPT-2's
     * @param names module names as PEFT's {@code target_modules} takes them (a name matches a module whose path is it
     *              or ends with "." + it), {@code auto} or {@code all-linear}
     * @throws IllegalArgumentException when a name matches no module (listing the family's modules)
     */
    public static List<Target> resolve(boolean llama, int dModel, int nHeads, int kvHeads, int dFf, List<String> names) {
        List<Target> all = modules(llama, dModel, nHeads, kvHeads, dFf);
        List<String> wanted = new ArrayList<>();
        for (String n : names) {
            String name = n.trim();
            switch (name) {
                case "auto" -> wanted.addAll(llama ? LLAMA_DEFAULT : GPT2_DEFAULT);
                case "all-linear" -> all.forEach(t -> wanted.add(t.module()));
                default -> wanted.add(name);
            }
        }
        Set<Target> chosen = new LinkedHashSet<>();
        for (String name : wanted) {
            boolean matched = false;
            for (Target t : all) {
                if (t.module().equals(name) || t.module().endsWith("." + name)) {
                    chosen.add(t);
                    matched = true;
                }
            }
            if (!matched) {
                throw new IllegalArgumentException("rlsf.train.lora.target-modules: \"" + name + "\" is not a module of "
                        + (llama ? "a Llama-family" : "a GPT-2 (or rlsf)") + " block; its modules are "
                        + all.stream().map(Target::module).toList() + " (or \"auto\", \"all-linear\")");
            }
        }
        List<Target> ordered = new ArrayList<>();
        for (Target t : all) {
            if (chosen.contains(t)) {
                ordered.add(t);
            }
        }
        return ordered;
    }

    /** Every module of a block that can take an adapter. */
    public static List<Target> modules(boolean llama, int dModel, int nHeads, int kvHeads, int dFf) {
        int dh = dModel / nHeads, qd = nHeads * dh, kvd = (kvHeads == 0 ? nHeads : kvHeads) * dh;
        if (llama) {
            return List.of(
                    new Target("self_attn.q_proj", "wqkv", 0, dModel, qd),
                    new Target("self_attn.k_proj", "wqkv", qd, dModel, kvd),
                    new Target("self_attn.v_proj", "wqkv", qd + kvd, dModel, kvd),
                    new Target("self_attn.o_proj", "wo", 0, dModel, dModel),
                    new Target("mlp.gate_proj", "w1", 0, dModel, dFf),
                    new Target("mlp.up_proj", "w1", dFf, dModel, dFf),
                    new Target("mlp.down_proj", "w2", 0, dFf, dModel));
        }
        return List.of(
                new Target("attn.c_attn", "wqkv", 0, dModel, qd + 2 * kvd),
                new Target("attn.c_proj", "wo", 0, dModel, dModel),
                new Target("mlp.c_fc", "w1", 0, dModel, dFf),
                new Target("mlp.c_proj", "w2", 0, dFf, dModel));
    }

    /** The block parameter names of target {@code i}'s A and B (no '_': DL4J splits gradient keys there). */
    public static String paramA(int i) {
        return "loraA" + i;
    }

    public static String paramB(int i) {
        return "loraB" + i;
    }

    /** PEFT's key of a module's adapter weight: {@code base_model.model.<block path>.<module>.lora_A.weight}. */
    public static String peftKey(boolean llama, int layer, String module, boolean a) {
        String block = llama ? "model.layers." + layer : "transformer.h." + layer;
        return "base_model.model." + block + "." + module + (a ? ".lora_A.weight" : ".lora_B.weight");
    }
}
