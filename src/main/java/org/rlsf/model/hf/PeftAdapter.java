package org.rlsf.model.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rlsf.config.Architecture;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.LoraTargets;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.graph.TransformerBlock;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A LoRA-trained graph's adapters as a PEFT adapter directory, which {@code PeftModel.from_pretrained} and vLLM
 * ({@code --enable-lora}) load on top of the base model: {@code adapter_config.json} ({@code peft_type: LORA},
 * {@code task_type: CAUSAL_LM}, r, lora_alpha, target_modules, GPT-2's {@code fan_in_fan_out}, rsLoRA) and
 * {@code adapter_model.safetensors} in float32 with PEFT's key names
 * ({@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight} [r, in], {@code …lora_B.weight} [out, r]).
 * Our A [in, r] and B [r, out] are those transposed.
 */
public final class PeftAdapter {
    public static final String CONFIG = "adapter_config.json", WEIGHTS = "adapter_model.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private PeftAdapter() {
    }

    /**
     * The adapter directory's files by name.
     *
     * @param graph     a graph with LoRA adapters ({@link TransformerLm#hasLora})
     * @param baseModel what {@code base_model_name_or_path} says: the Hugging Face model the adapter applies to
     */
    public static Map<String, byte[]> files(ComputationGraph graph, ModelConfig m, String baseModel) {
        if (!TransformerLm.hasLora(graph)) {
            throw new IllegalArgumentException("the graph has no LoRA adapters");
        }
        boolean llama = m.arch().mlp() == Architecture.Mlp.SWIGLU;
        TransformerBlock first = (TransformerBlock) graph.getLayer(TransformerLm.block(0)).conf().getLayer();
        List<LoraTargets.Target> targets = first.loraTargets();
        Map<String, SafeTensors.Source> tensors = new LinkedHashMap<>();
        for (int layer = 0; layer < m.nLayers(); layer++) {
            Layer b = graph.getLayer(TransformerLm.block(layer));
            for (int i = 0; i < targets.size(); i++) {
                String module = targets.get(i).module();
                tensors.put(LoraTargets.peftKey(llama, layer, module, true), transposed(b.getParam(LoraTargets.paramA(i))));
                tensors.put(LoraTargets.peftKey(llama, layer, module, false), transposed(b.getParam(LoraTargets.paramB(i))));
            }
        }
        ObjectNode config = JSON.createObjectNode();
        config.put("peft_type", "LORA");
        config.put("task_type", "CAUSAL_LM");
        config.put("base_model_name_or_path", baseModel);
        config.put("r", first.getLoraRank());
        double alpha = first.getLoraAlpha();
        if (Math.rint(alpha) == alpha) {
            config.put("lora_alpha", (long) alpha);
        } else {
            config.put("lora_alpha", alpha);
        }
        config.put("lora_dropout", 0.0);
        var names = config.putArray("target_modules");
        targetNames(llama, m, targets).forEach(names::add);
        config.put("fan_in_fan_out", !llama);   // GPT-2's Conv1D stores [in, out]
        config.put("bias", "none");
        config.put("use_rslora", first.isLoraRslora());
        config.put("inference_mode", true);
        config.putNull("modules_to_save");
        config.put("init_lora_weights", true);
        try {
            Map<String, byte[]> files = new LinkedHashMap<>();
            files.put(CONFIG, JSON.writeValueAsBytes(config));
            java.nio.file.Path tmp = Files.createTempFile("rlsf-adapter", ".safetensors");
            try {
                SafeTensors.write(tmp, tensors, "F32", Map.of("format", "pt"));
                files.put(WEIGHTS, Files.readAllBytes(tmp));
            } finally {
                Files.deleteIfExists(tmp);
            }
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the adapter: " + e.getMessage(), e);
        }
    }

    /**
     * The base model an adapter applies to, from the base checkpoint's lineage: the Hugging Face directory it was
     * imported from ({@code hf:DIR} → DIR), else {@code unknown}.
     */
    public static String baseModelName(Map<String, Object> baseLineage) {
        Object source = baseLineage == null ? null : baseLineage.get("source");
        if (source instanceof String s && HfImport.isSpec(s)) {
            return s.substring(s.indexOf(':') + 1);
        }
        return "unknown";
    }

    /** {@code adapter_config.json} with another {@code base_model_name_or_path}. */
    public static byte[] withBaseModel(byte[] config, String baseModel) {
        try {
            ObjectNode node = (ObjectNode) JSON.readTree(config);
            node.put("base_model_name_or_path", baseModel);
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException("unreadable " + CONFIG + ": " + e.getMessage(), e);
        }
    }

    /** Writes the adapter files ({@link #files}, or as read from a checkpoint) into a new local directory. */
    public static void write(Map<String, byte[]> files, java.nio.file.Path out) {
        try {
            Files.createDirectories(out);
            if (Files.exists(out.resolve(CONFIG))) {
                throw new IllegalArgumentException(out + " already holds an adapter (" + CONFIG + "); choose an empty directory");
            }
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                Files.write(out.resolve(f.getKey()), f.getValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
        }
    }

    /** A checkpoint's adapter files ({@link Checkpoint#ADAPTER_DIR}), verified; empty when it has none. */
    public static Map<String, byte[]> read(org.rlsf.io.FileStore store, String checkpoint) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        if (HfImport.isSpec(checkpoint)) {
            return files;   // a Hugging Face directory, not a trained checkpoint
        }
        String prefix = org.rlsf.model.Checkpoint.ADAPTER_DIR + "/";
        org.rlsf.model.Checkpoint.extraFiles(store, org.rlsf.io.FileStore.path(checkpoint)).forEach((name, bytes) -> {
            if (name.startsWith(prefix)) {
                files.put(name.substring(prefix.length()), bytes);
            }
        });
        return files;
    }

    /**
     * PEFT's {@code target_modules}: each module's own name ({@code q_proj}, {@code c_attn}) unless another module of
     * the block shares it and is not adapted (GPT-2's two {@code c_proj}), then its path ({@code attn.c_proj}).
     */
    static List<String> targetNames(boolean llama, ModelConfig m, List<LoraTargets.Target> targets) {
        List<LoraTargets.Target> all = LoraTargets.modules(llama, m.dModel(), m.nHeads(), m.kvHeads(), m.dFf());
        Set<String> names = new LinkedHashSet<>();
        for (LoraTargets.Target t : targets) {
            String shortName = t.module().substring(t.module().lastIndexOf('.') + 1);
            boolean ambiguous = all.stream().anyMatch(o -> !targets.contains(o) && o.module().endsWith("." + shortName));
            names.add(ambiguous ? t.module() : shortName);
        }
        return new ArrayList<>(names);
    }

    private static SafeTensors.Source transposed(INDArray a) {
        long[] shape = {a.size(1), a.size(0)};
        return new SafeTensors.Source(shape, () -> a.transpose().dup('c').castTo(DataType.FLOAT).data().asFloat());
    }
}
