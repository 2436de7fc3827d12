package org.rlsf.model.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rlsf.config.Architecture;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.graph.FinalLayerNorm;
import org.rlsf.model.graph.PositionEmbedding;
import org.rlsf.model.graph.TransformerBlock;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Writes rlsf's graph back as a Hugging Face model directory that {@code from_pretrained} and vLLM load: the weights in
 * Hugging Face's names and layouts (the inverse of {@link HfModel}), as safetensors with {@code {"format": "pt"}}
 * metadata in F32, F16 or BF16 (round-to-nearest-even), sharded with {@code model.safetensors.index.json} above a size
 * limit; {@code config.json} (the source's, with the sizes, dtype and head tying rewritten), {@code
 * generation_config.json}, and the source's tokenizer files copied verbatim. A head still equal to the embedding is
 * written tied (no {@code lm_head.weight}); a tuned one untied.
 */
public final class HfExport {
    /** Hugging Face's default shard size for save_pretrained (5 GB). */
    public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private HfExport() {
    }

    /**
     * Writes the model to {@code out} (created; must not hold a model already).
     *
     * @param sourceFiles the imported model's small files by name ({@link HfTokenizer#sourceFiles()}): config.json
     *                    (the family and every field rlsf does not model), tokenizer and generation files (copied)
     * @param dtype       F32, F16 or BF16
     * @return the files written, with their sizes
     */
    public static Map<String, Long> write(ComputationGraph graph, ModelConfig m, Map<String, String> sourceFiles,
                                          Path out, String dtype, long shardBytes) {
        if (!sourceFiles.containsKey(HfModel.CONFIG)) {
            throw new IllegalArgumentException("no source config.json: only models imported from Hugging Face can be exported");
        }
        JsonNode sourceConfig;
        try {
            sourceConfig = JSON.readTree(sourceFiles.get(HfModel.CONFIG));
        } catch (IOException e) {
            throw new IllegalArgumentException("the source config.json is unreadable: " + e.getMessage(), e);
        }
        HfConfig source = HfConfig.parse(sourceConfig, "config.json");
        if (!source.model().arch().equals(m.arch()) || source.model().dModel() != m.dModel()
                || source.model().nLayers() != m.nLayers() || source.model().vocabSize() != m.vocabSize()) {
            throw new IllegalArgumentException("the model's design differs from its source config.json: cannot export");
        }
        try {
            Files.createDirectories(out);
            if (Files.exists(out.resolve(HfModel.CONFIG))) {
                throw new IllegalArgumentException(out + " already holds a model (" + HfModel.CONFIG + "); choose an empty directory");
            }
            boolean tied = tiedHead(graph);
            Map<String, SafeTensors.Source> tensors = source.family() == HfConfig.Family.GPT2
                    ? gpt2(graph, m, tied) : llama(graph, m, tied);
            Map<String, Long> written = new LinkedHashMap<>();
            writeWeights(tensors, out, dtype, shardBytes, written);
            ObjectNode config = sourceConfig.deepCopy();
            config.put("torch_dtype", switch (dtype) {
                case "F32" -> "float32";
                case "F16" -> "float16";
                default -> "bfloat16";
            });
            config.put("tie_word_embeddings", tied);
            config.put("vocab_size", m.vocabSize());
            writeJson(out.resolve(HfModel.CONFIG), config, written);
            for (Map.Entry<String, String> f : sourceFiles.entrySet()) {
                if (!HfModel.CONFIG.equals(f.getKey())) {   // tokenizer and generation files, verbatim
                    byte[] bytes = f.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8);
                    Files.write(out.resolve(f.getKey()), bytes);
                    written.put(f.getKey(), (long) bytes.length);
                }
            }
            if (!written.containsKey("generation_config.json")) {
                ObjectNode gen = JSON.createObjectNode();
                if (source.bosId() >= 0) {
                    gen.put("bos_token_id", source.bosId());
                }
                if (!source.eosIds().isEmpty()) {
                    gen.set("eos_token_id", source.eosIds().size() == 1 ? JSON.valueToTree(source.eosIds().get(0))
                            : JSON.valueToTree(source.eosIds()));
                }
                writeJson(out.resolve("generation_config.json"), gen, written);
            }
            return written;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
        }
    }

    /** True when the head is exactly the transposed embedding (an untouched tied import). */
    static boolean tiedHead(ComputationGraph graph) {
        INDArray embed = graph.getLayer(TransformerLm.EMBED).getParam("W");
        INDArray head = graph.getLayer(TransformerLm.HEAD).getParam("W");
        return embed.equalsWithEps(head.transpose(), 0.0);
    }

    private static Map<String, SafeTensors.Source> llama(ComputationGraph g, ModelConfig m, boolean tied) {
        int d = m.dModel(), qd = m.nHeads() * m.headDim(), kvd = m.kvHeads() * m.headDim(), f = m.dFf();
        Architecture a = m.arch();
        Map<String, SafeTensors.Source> t = new LinkedHashMap<>();
        INDArray embed = g.getLayer(TransformerLm.EMBED).getParam("W");
        t.put("model.embed_tokens.weight", as(embed));
        for (int i = 0; i < m.nLayers(); i++) {
            String p = "model.layers." + i + ".";
            Layer b = g.getLayer(TransformerLm.block(i));
            INDArray wqkv = b.getParam(TransformerBlock.W_QKV), w1 = b.getParam(TransformerBlock.W_1);
            t.put(p + "input_layernorm.weight", vector(b.getParam(TransformerBlock.LN1_G)));
            t.put(p + "self_attn.q_proj.weight", as(columns(wqkv, 0, qd).transpose()));
            t.put(p + "self_attn.k_proj.weight", as(columns(wqkv, qd, qd + kvd).transpose()));
            t.put(p + "self_attn.v_proj.weight", as(columns(wqkv, qd + kvd, qd + 2 * kvd).transpose()));
            if (a.qkvBias()) {
                INDArray bqkv = b.getParam(TransformerBlock.B_QKV);
                t.put(p + "self_attn.q_proj.bias", vector(columns(bqkv, 0, qd)));
                t.put(p + "self_attn.k_proj.bias", vector(columns(bqkv, qd, qd + kvd)));
                t.put(p + "self_attn.v_proj.bias", vector(columns(bqkv, qd + kvd, qd + 2 * kvd)));
            }
            t.put(p + "self_attn.o_proj.weight", as(b.getParam(TransformerBlock.W_O).transpose()));
            if (a.outBias()) {
                t.put(p + "self_attn.o_proj.bias", vector(b.getParam(TransformerBlock.B_O)));
            }
            t.put(p + "post_attention_layernorm.weight", vector(b.getParam(TransformerBlock.LN2_G)));
            t.put(p + "mlp.gate_proj.weight", as(columns(w1, 0, f).transpose()));
            t.put(p + "mlp.up_proj.weight", as(columns(w1, f, 2 * f).transpose()));
            t.put(p + "mlp.down_proj.weight", as(b.getParam(TransformerBlock.W_2).transpose()));
            if (a.mlpBias()) {
                INDArray b1 = b.getParam(TransformerBlock.B_1);
                t.put(p + "mlp.gate_proj.bias", vector(columns(b1, 0, f)));
                t.put(p + "mlp.up_proj.bias", vector(columns(b1, f, 2 * f)));
                t.put(p + "mlp.down_proj.bias", vector(b.getParam(TransformerBlock.B_2)));
            }
        }
        t.put("model.norm.weight", vector(g.getLayer(TransformerLm.FINAL_NORM).getParam(FinalLayerNorm.GAIN)));
        if (!tied) {
            t.put("lm_head.weight", as(g.getLayer(TransformerLm.HEAD).getParam("W").transpose()));
        }
        return t;
    }

    private static Map<String, SafeTensors.Source> gpt2(ComputationGraph g, ModelConfig m, boolean tied) {
        Map<String, SafeTensors.Source> t = new LinkedHashMap<>();
        String pre = "transformer.";   // what save_pretrained writes
        t.put(pre + "wte.weight", as(g.getLayer(TransformerLm.EMBED).getParam("W")));
        t.put(pre + "wpe.weight", as(g.getLayer(TransformerLm.POS).getParam(PositionEmbedding.WPE)));
        for (int i = 0; i < m.nLayers(); i++) {
            String p = pre + "h." + i + ".";
            Layer b = g.getLayer(TransformerLm.block(i));
            t.put(p + "ln_1.weight", vector(b.getParam(TransformerBlock.LN1_G)));
            t.put(p + "ln_1.bias", vector(b.getParam(TransformerBlock.LN1_B)));
            t.put(p + "attn.c_attn.weight", as(b.getParam(TransformerBlock.W_QKV)));
            t.put(p + "attn.c_attn.bias", vector(b.getParam(TransformerBlock.B_QKV)));
            t.put(p + "attn.c_proj.weight", as(b.getParam(TransformerBlock.W_O)));
            t.put(p + "attn.c_proj.bias", vector(b.getParam(TransformerBlock.B_O)));
            t.put(p + "ln_2.weight", vector(b.getParam(TransformerBlock.LN2_G)));
            t.put(p + "ln_2.bias", vector(b.getParam(TransformerBlock.LN2_B)));
            t.put(p + "mlp.c_fc.weight", as(b.getParam(TransformerBlock.W_1)));
            t.put(p + "mlp.c_fc.bias", vector(b.getParam(TransformerBlock.B_1)));
            t.put(p + "mlp.c_proj.weight", as(b.getParam(TransformerBlock.W_2)));
            t.put(p + "mlp.c_proj.bias", vector(b.getParam(TransformerBlock.B_2)));
        }
        Layer norm = g.getLayer(TransformerLm.FINAL_NORM);
        t.put(pre + "ln_f.weight", vector(norm.getParam(FinalLayerNorm.GAIN)));
        t.put(pre + "ln_f.bias", vector(norm.getParam(FinalLayerNorm.BIAS)));
        if (!tied) {
            t.put("lm_head.weight", as(g.getLayer(TransformerLm.HEAD).getParam("W").transpose()));
        }
        return t;
    }

    /** Groups tensors into files of at most {@code shardBytes} (a larger tensor gets a file of its own). */
    private static void writeWeights(Map<String, SafeTensors.Source> tensors, Path out, String dtype, long shardBytes,
                                     Map<String, Long> written) throws IOException {
        int size = "F32".equals(dtype) ? 4 : 2;
        List<Map<String, SafeTensors.Source>> shards = new ArrayList<>();
        Map<String, SafeTensors.Source> current = new LinkedHashMap<>();
        long currentBytes = 0, total = 0;
        for (Map.Entry<String, SafeTensors.Source> t : tensors.entrySet()) {
            long bytes = size;
            for (long d : t.getValue().shape()) {
                bytes *= d;
            }
            if (!current.isEmpty() && currentBytes + bytes > shardBytes) {
                shards.add(current);
                current = new LinkedHashMap<>();
                currentBytes = 0;
            }
            current.put(t.getKey(), t.getValue());
            currentBytes += bytes;
            total += bytes;
        }
        shards.add(current);
        Map<String, String> meta = Map.of("format", "pt");
        if (shards.size() == 1) {
            written.put(HfModel.WEIGHTS, SafeTensors.write(out.resolve(HfModel.WEIGHTS), shards.get(0), dtype, meta));
            return;
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode map = index.putObject("weight_map");
        for (int s = 0; s < shards.size(); s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
            written.put(file, SafeTensors.write(out.resolve(file), shards.get(s), dtype, meta));
            for (String name : shards.get(s).keySet()) {
                map.put(name, file);
            }
        }
        writeJson(out.resolve(HfModel.INDEX), index, written);
    }

    private static void writeJson(Path file, JsonNode node, Map<String, Long> written) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(node);
        Files.write(file, bytes);
        written.put(file.getFileName().toString(), (long) bytes.length);
    }

    private static INDArray columns(INDArray param, long from, long to) {
        return param.get(NDArrayIndex.all(), NDArrayIndex.interval(from, to));
    }

    /** A matrix (any view) as a row-major float32 tensor, converted when written. */
    private static SafeTensors.Source as(INDArray a) {
        return tensor(a, a.shape());
    }

    /** A [1, n] parameter row as an [n] tensor. */
    private static SafeTensors.Source vector(INDArray row) {
        return tensor(row, new long[]{row.length()});
    }

    private static SafeTensors.Source tensor(INDArray a, long[] shape) {
        Supplier<float[]> values = () -> a.dup('c').castTo(DataType.FLOAT).data().asFloat();
        return new SafeTensors.Source(shape, values);
    }
}
