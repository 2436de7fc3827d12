package org.rlsf.model.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.config.LoraConfig;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.LoraTargets;
import org.rlsf.model.TransformerLm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PEFT adapter of a LoRA graph: the keys, shapes and config PEFT expects, and — applied to the source model's
 * tensors as PEFT merges (W += s·B·A, transposed for GPT-2's fan_in_fan_out Conv1D) — exactly the merged model rlsf
 * exports. With {@code LoraTrainingTest}'s merged = adapter graph, the merged export's logits are the base's plus the
 * adapter's.
 */
class PeftAdapterTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void adapterKeysShapesAndConfigAreWhatPeftLoadsAndMergeAsTheExport(String name) throws Exception {
        Path source = HfImportTest.fixture(name);
        HfModel m = HfModel.load(source);
        ModelConfig mc = m.config().model();
        boolean llama = "llama".equals(name);
        LoraConfig lora = new LoraConfig(2, 5, 0, List.of("all-linear"), false);
        ComputationGraph adapters = TransformerLm.create(TransformerLm.configuration(mc, 8,
                TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT, lora), mc);
        TransformerLm.copyParams(m.graph(), adapters);
        Nd4j.getRandom().setSeed(9);
        for (Layer layer : adapters.getLayers()) {
            for (var p : layer.paramTable().entrySet()) {
                if (p.getKey().startsWith("loraB")) {
                    p.getValue().assign(Nd4j.randn(DataType.FLOAT, p.getValue().shape()).muli(0.2));
                }
            }
        }
        Path dir = tmp.resolve(name + "-adapter");
        PeftAdapter.write(PeftAdapter.files(adapters, mc, "org/" + name), dir);

        JsonNode config = new ObjectMapper().readTree(dir.resolve(PeftAdapter.CONFIG).toFile());
        assertEquals("LORA", config.get("peft_type").asText());
        assertEquals("CAUSAL_LM", config.get("task_type").asText());
        assertEquals("org/" + name, config.get("base_model_name_or_path").asText());
        assertEquals(2, config.get("r").asInt());
        assertEquals(5, config.get("lora_alpha").asInt());
        assertEquals(!llama, config.get("fan_in_fan_out").asBoolean());
        Set<String> targets = new HashSet<>();
        config.get("target_modules").forEach(t -> targets.add(t.asText()));
        assertEquals(llama ? Set.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
                : Set.of("c_attn", "c_proj", "c_fc"), targets);

        List<LoraTargets.Target> modules = LoraTargets.modules(llama, mc.dModel(), mc.nHeads(), mc.kvHeads(), mc.dFf());
        Path merged = tmp.resolve(name + "-merged");
        ComputationGraph plain = TransformerLm.create(mc, 8, TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT);
        TransformerLm.copyParams(adapters, plain);
        Map<String, String> sourceFiles = new java.util.LinkedHashMap<>();
        sourceFiles.put(HfModel.CONFIG, Files.readString(source.resolve(HfModel.CONFIG)));
        HfExport.write(plain, mc, sourceFiles, merged, "F32", HfExport.DEFAULT_SHARD_BYTES);

        try (SafeTensors ad = SafeTensors.open(dir.resolve(PeftAdapter.WEIGHTS));
             SafeTensors base = SafeTensors.open(source.resolve(HfModel.WEIGHTS));
             SafeTensors out = SafeTensors.open(merged.resolve(HfModel.WEIGHTS))) {
            assertEquals(2 * mc.nLayers() * modules.size(), ad.entries().size(), "an A and a B per module and layer");
            assertEquals(Map.of("format", "pt"), ad.metadata());
            for (int layer = 0; layer < mc.nLayers(); layer++) {
                for (LoraTargets.Target t : modules) {
                    String keyA = LoraTargets.peftKey(llama, layer, t.module(), true);
                    String keyB = LoraTargets.peftKey(llama, layer, t.module(), false);
                    assertArrayEquals(new long[]{2, t.in()}, ad.entries().get(keyA).shape(), keyA);
                    assertArrayEquals(new long[]{t.out(), 2}, ad.entries().get(keyB).shape(), keyB);
                    // PEFT's merge: the module's weight (nn.Linear [out, in]; GPT-2 Conv1D [in, out]) + s · B·A
                    String weight = keyA.substring("base_model.model.".length(), keyA.length() - ".lora_A.weight".length()) + ".weight";
                    float[] w = base.floats(present(base, weight)), a = ad.floats(keyA), b = ad.floats(keyB);
                    float[] exported = out.floats(present(out, weight));
                    double scale = 5.0 / 2, worst = 0;
                    for (int o = 0; o < t.out(); o++) {
                        for (int i = 0; i < t.in(); i++) {
                            double delta = 0;
                            for (int r = 0; r < 2; r++) {
                                delta += b[o * 2 + r] * a[r * t.in() + i];
                            }
                            int at = llama ? o * t.in() + i : i * t.out() + o;
                            worst = Math.max(worst, Math.abs(w[at] + scale * delta - exported[at]));
                        }
                    }
                    assertTrue(worst < 1e-5, weight + ": PEFT's merge and the export differ by " + worst);
                }
            }
        }
    }

    /** GPT-2 checkpoints name their tensors with or without the {@code transformer.} prefix. */
    private static String present(SafeTensors st, String name) {
        String bare = name.startsWith("transformer.") ? name.substring("transformer.".length()) : name;
        return st.entries().containsKey(name) ? name : bare;
    }
}
