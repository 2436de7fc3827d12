package org.rlsf.model.hf;

import com.fasterxml.jackson.databind.JsonNode;
import org.rlsf.config.Architecture;
import org.rlsf.config.ModelConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * A Hugging Face {@code config.json} read into rlsf's terms: the model family, its {@link ModelConfig} (sizes and
 * {@link Architecture}), and what the weight files must then hold. Anything rlsf cannot compute exactly is an error
 * that names the field, never a silently different model.
 *
 * @param family       which tensor names and layouts to expect
 * @param model        sizes and block design
 * @param tiedHead     the output head is the token embedding ({@code tie_word_embeddings}, or GPT-2 always)
 * @param bosId        {@code bos_token_id}, or -1
 * @param eosIds       {@code eos_token_id} (an id or a list), possibly empty
 * @param architecture the {@code architectures[0]} string, for export
 */
public record HfConfig(Family family, ModelConfig model, boolean tiedHead, int bosId, List<Integer> eosIds,
                       String architecture) {

    /** The supported {@code model_type} values. */
    public enum Family {
        LLAMA("llama", "LlamaForCausalLM"), MISTRAL("mistral", "MistralForCausalLM"),
        QWEN2("qwen2", "Qwen2ForCausalLM"), GPT2("gpt2", "GPT2LMHeadModel");

        public final String modelType;
        public final String architecture;

        Family(String modelType, String architecture) {
            this.modelType = modelType;
            this.architecture = architecture;
        }

        static Family of(String modelType, String file) {
            for (Family f : values()) {
                if (f.modelType.equals(modelType)) {
                    return f;
                }
            }
            List<String> supported = new ArrayList<>();
            for (Family f : values()) {
                supported.add(f.modelType);
            }
            throw new IllegalArgumentException(file + ": model_type '" + modelType + "' is not supported; rlsf reads "
                    + String.join(", ", supported));
        }
    }

    /** Parses {@code config.json} ({@code file} names it in errors). */
    public static HfConfig parse(JsonNode c, String file) {
        Family family = Family.of(c.path("model_type").asText(""), file);
        String arch = c.path("architectures").path(0).asText(family.architecture);
        if (family == Family.GPT2) {
            return gpt2(c, file, arch);
        }
        int d = required(c, "hidden_size", file), heads = required(c, "num_attention_heads", file);
        int kv = c.path("num_key_value_heads").isNumber() ? c.get("num_key_value_heads").asInt() : heads;
        if (c.path("head_dim").isNumber() && c.get("head_dim").asInt() != d / heads) {
            throw new IllegalArgumentException(file + ": head_dim " + c.get("head_dim").asInt()
                    + " differs from hidden_size / num_attention_heads (" + d / heads + "); rlsf supports only the latter");
        }
        String act = c.path("hidden_act").asText("silu");
        if (!"silu".equals(act)) {
            throw new IllegalArgumentException(file + ": hidden_act '" + act + "' is not supported for " + family.modelType + " (only silu)");
        }
        Architecture.RopeScaling scaling = ropeScaling(c.path("rope_scaling"), file);
        boolean qkvBias = family == Family.QWEN2 || c.path("attention_bias").asBoolean(false);
        boolean outBias = family == Family.LLAMA && c.path("attention_bias").asBoolean(false);
        boolean mlpBias = family == Family.LLAMA && c.path("mlp_bias").asBoolean(false);
        int context = required(c, "max_position_embeddings", file);
        JsonNode window = c.path("sliding_window");
        boolean windowOn = window.isNumber() && (family != Family.QWEN2 || c.path("use_sliding_window").asBoolean(false));
        if (windowOn && window.asInt() < context) {
            context = window.asInt();   // full attention equals sliding-window attention up to the window
        }
        Architecture a = Architecture.llama(kv == heads ? 0 : kv, c.path("rope_theta").asDouble(10000.0), scaling,
                qkvBias, outBias, mlpBias);
        ModelConfig m = model(c, file, d, required(c, "num_hidden_layers", file), heads,
                required(c, "intermediate_size", file), context, c.path("rms_norm_eps").asDouble(1e-6), a);
        return new HfConfig(family, m, c.path("tie_word_embeddings").asBoolean(false), id(c.path("bos_token_id")),
                ids(c.path("eos_token_id")), arch);
    }

    private static HfConfig gpt2(JsonNode c, String file, String arch) {
        String act = c.path("activation_function").asText("gelu_new");
        if (!"gelu_new".equals(act) && !"gelu_pytorch_tanh".equals(act)) {
            throw new IllegalArgumentException(file + ": activation_function '" + act
                    + "' is not supported for gpt2 (gelu_new, gelu_pytorch_tanh)");
        }
        int d = required(c, "n_embd", file);
        int inner = c.path("n_inner").isNumber() ? c.get("n_inner").asInt() : 4 * d;
        ModelConfig m = model(c, file, d, required(c, "n_layer", file), required(c, "n_head", file), inner,
                required(c, "n_positions", file), c.path("layer_norm_epsilon").asDouble(1e-5), Architecture.gpt2());
        return new HfConfig(Family.GPT2, m, true, id(c.path("bos_token_id")), ids(c.path("eos_token_id")), arch);
    }

    private static ModelConfig model(JsonNode c, String file, int d, int layers, int heads, int dFf, int context,
                                     double eps, Architecture a) {
        try {
            return new ModelConfig(required(c, "vocab_size", file), d, layers, heads, dFf, context, eps,
                    c.path("initializer_range").asDouble(0.02), 0, a);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    private static Architecture.RopeScaling ropeScaling(JsonNode s, String file) {
        if (s.isMissingNode() || s.isNull()) {
            return null;
        }
        String type = s.path("rope_type").asText(s.path("type").asText(""));
        if ("default".equals(type)) {
            return null;
        }
        if (!"llama3".equals(type)) {
            throw new IllegalArgumentException(file + ": rope_scaling type '" + type + "' is not supported (llama3 only)");
        }
        try {
            return new Architecture.RopeScaling(s.path("factor").asDouble(), s.path("low_freq_factor").asDouble(),
                    s.path("high_freq_factor").asDouble(), s.path("original_max_position_embeddings").asInt());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    private static int required(JsonNode c, String field, String file) {
        JsonNode n = c.path(field);
        if (!n.isNumber()) {
            throw new IllegalArgumentException(file + ": field " + field + " is missing or not a number");
        }
        return n.asInt();
    }

    private static int id(JsonNode n) {
        return n.isNumber() ? n.asInt() : n.isArray() && n.size() > 0 ? n.get(0).asInt() : -1;
    }

    private static List<Integer> ids(JsonNode n) {
        List<Integer> out = new ArrayList<>();
        if (n.isNumber()) {
            out.add(n.asInt());
        } else if (n.isArray()) {
            n.forEach(x -> out.add(x.asInt()));
        }
        return List.copyOf(out);
    }
}
