package org.rlsf.model.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.graph.FinalLayerNorm;
import org.rlsf.model.graph.PositionEmbedding;
import org.rlsf.model.graph.TransformerBlock;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A Hugging Face model directory loaded into rlsf's training graph ({@link TransformerLm}, float32): {@code config.json}
 * read by {@link HfConfig}, the weights from {@code model.safetensors} or the shards that
 * {@code model.safetensors.index.json} lists, one tensor at a time into the graph's parameters (each file memory-mapped,
 * so the weights are never held twice). Hugging Face's layouts become rlsf's: Linear weights [out, in] are transposed
 * to [in, out], Llama-family q/k/v and gate/up projections are fused column-wise, GPT-2's Conv1D weights ([in, out],
 * fused c_attn) are taken as they are; a tied head is copied from the embedding (rlsf's graph keeps the two apart).
 *
 * @param config        what config.json says
 * @param graph         the LM graph with the imported weights
 * @param sourceSha256  SHA-256 of every file read (config and weights), by file name
 */
public record HfModel(HfConfig config, ComputationGraph graph, Map<String, String> sourceSha256) {
    public static final String CONFIG = "config.json", WEIGHTS = "model.safetensors", INDEX = "model.safetensors.index.json";
    /** Sequence length of the imported LM graph (its parameters fit a graph of any length up to the context). */
    static final int GRAPH_SEQ_LEN = 256;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Loads the model directory {@code dir} (a local directory). */
    public static HfModel load(Path dir) {
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new IllegalArgumentException("not a Hugging Face model directory: " + dir + " has no " + CONFIG);
        }
        HfConfig config;
        try {
            config = HfConfig.parse(JSON.readTree(configFile.toFile()), configFile.toString());
        } catch (IOException e) {
            throw new IllegalArgumentException(configFile + " is not readable JSON: " + e.getMessage(), e);
        }
        Map<String, String> hashes = sourceHashes(dir);
        try (Tensors tensors = Tensors.open(dir)) {
            ModelConfig m = config.model();
            ComputationGraph g = TransformerLm.create(m, Math.min(GRAPH_SEQ_LEN, m.contextLength()),
                    TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT);
            if (config.family() == HfConfig.Family.GPT2) {
                gpt2(tensors, g, config);
            } else {
                llama(tensors, g, config);
            }
            tensors.requireAllUsed(config.family());
            return new HfModel(config, g, Map.copyOf(hashes));
        }
    }

    private static void llama(Tensors t, ComputationGraph g, HfConfig c) {
        ModelConfig m = c.model();
        int d = m.dModel(), qd = m.nHeads() * m.headDim(), kvd = m.kvHeads() * m.headDim(), f = m.dFf(), v = m.vocabSize();
        INDArray embed = t.get("model.embed_tokens.weight", v, d);
        put(g.getLayer(TransformerLm.EMBED).getParam("W"), embed);
        for (int i = 0; i < m.nLayers(); i++) {
            String p = "model.layers." + i + ".";
            Layer b = g.getLayer(TransformerLm.block(i));
            put(b.getParam(TransformerBlock.LN1_G), t.get(p + "input_layernorm.weight", d));
            INDArray wqkv = b.getParam(TransformerBlock.W_QKV);
            put(columns(wqkv, 0, qd), t.get(p + "self_attn.q_proj.weight", qd, d).transpose());
            put(columns(wqkv, qd, qd + kvd), t.get(p + "self_attn.k_proj.weight", kvd, d).transpose());
            put(columns(wqkv, qd + kvd, qd + 2 * kvd), t.get(p + "self_attn.v_proj.weight", kvd, d).transpose());
            if (m.arch().qkvBias()) {
                INDArray bqkv = b.getParam(TransformerBlock.B_QKV);
                put(columns(bqkv, 0, qd), t.get(p + "self_attn.q_proj.bias", qd));
                put(columns(bqkv, qd, qd + kvd), t.get(p + "self_attn.k_proj.bias", kvd));
                put(columns(bqkv, qd + kvd, qd + 2 * kvd), t.get(p + "self_attn.v_proj.bias", kvd));
            }
            put(b.getParam(TransformerBlock.W_O), t.get(p + "self_attn.o_proj.weight", d, qd).transpose());
            if (m.arch().outBias()) {
                put(b.getParam(TransformerBlock.B_O), t.get(p + "self_attn.o_proj.bias", d));
            }
            put(b.getParam(TransformerBlock.LN2_G), t.get(p + "post_attention_layernorm.weight", d));
            INDArray w1 = b.getParam(TransformerBlock.W_1);
            put(columns(w1, 0, f), t.get(p + "mlp.gate_proj.weight", f, d).transpose());
            put(columns(w1, f, 2 * f), t.get(p + "mlp.up_proj.weight", f, d).transpose());
            put(b.getParam(TransformerBlock.W_2), t.get(p + "mlp.down_proj.weight", d, f).transpose());
            if (m.arch().mlpBias()) {
                INDArray b1 = b.getParam(TransformerBlock.B_1);
                put(columns(b1, 0, f), t.get(p + "mlp.gate_proj.bias", f));
                put(columns(b1, f, 2 * f), t.get(p + "mlp.up_proj.bias", f));
                put(b.getParam(TransformerBlock.B_2), t.get(p + "mlp.down_proj.bias", d));
            }
        }
        put(g.getLayer(TransformerLm.FINAL_NORM).getParam(FinalLayerNorm.GAIN), t.get("model.norm.weight", d));
        head(t, g, c, embed, "lm_head.weight");
    }

    private static void gpt2(Tensors t, ComputationGraph g, HfConfig c) {
        ModelConfig m = c.model();
        int d = m.dModel(), f = m.dFf(), v = m.vocabSize();
        String pre = t.has("transformer.wte.weight") ? "transformer." : "";   // save_pretrained vs the hub's files
        INDArray wte = t.get(pre + "wte.weight", v, d);
        put(g.getLayer(TransformerLm.EMBED).getParam("W"), wte);
        put(g.getLayer(TransformerLm.POS).getParam(PositionEmbedding.WPE), t.get(pre + "wpe.weight", m.contextLength(), d));
        for (int i = 0; i < m.nLayers(); i++) {
            String p = pre + "h." + i + ".";
            Layer b = g.getLayer(TransformerLm.block(i));
            put(b.getParam(TransformerBlock.LN1_G), t.get(p + "ln_1.weight", d));
            put(b.getParam(TransformerBlock.LN1_B), t.get(p + "ln_1.bias", d));
            put(b.getParam(TransformerBlock.W_QKV), t.get(p + "attn.c_attn.weight", d, 3L * d));   // Conv1D: [in, out]
            put(b.getParam(TransformerBlock.B_QKV), t.get(p + "attn.c_attn.bias", 3L * d));
            put(b.getParam(TransformerBlock.W_O), t.get(p + "attn.c_proj.weight", d, d));
            put(b.getParam(TransformerBlock.B_O), t.get(p + "attn.c_proj.bias", d));
            put(b.getParam(TransformerBlock.LN2_G), t.get(p + "ln_2.weight", d));
            put(b.getParam(TransformerBlock.LN2_B), t.get(p + "ln_2.bias", d));
            put(b.getParam(TransformerBlock.W_1), t.get(p + "mlp.c_fc.weight", d, f));
            put(b.getParam(TransformerBlock.B_1), t.get(p + "mlp.c_fc.bias", f));
            put(b.getParam(TransformerBlock.W_2), t.get(p + "mlp.c_proj.weight", f, d));
            put(b.getParam(TransformerBlock.B_2), t.get(p + "mlp.c_proj.bias", d));
            t.ignore(p + "attn.bias", p + "attn.masked_bias");   // causal-mask buffers in older files
        }
        Layer norm = g.getLayer(TransformerLm.FINAL_NORM);
        put(norm.getParam(FinalLayerNorm.GAIN), t.get(pre + "ln_f.weight", d));
        put(norm.getParam(FinalLayerNorm.BIAS), t.get(pre + "ln_f.bias", d));
        head(t, g, c, wte, "lm_head.weight");
    }

    /** The head [d, V]: the file's lm_head when it has one, else (tied) the token embedding, transposed. */
    private static void head(Tensors t, ComputationGraph g, HfConfig c, INDArray embed, String name) {
        ModelConfig m = c.model();
        INDArray w;
        if (t.has(name)) {
            w = t.get(name, m.vocabSize(), m.dModel());
        } else if (c.tiedHead()) {
            w = embed;
        } else {
            throw new IllegalArgumentException(t.where() + " has no tensor " + name
                    + " and config.json does not tie the head to the embedding (tie_word_embeddings)");
        }
        put(g.getLayer(TransformerLm.HEAD).getParam("W"), w.transpose());
    }

    private static INDArray columns(INDArray param, long from, long to) {
        return param.get(NDArrayIndex.all(), NDArrayIndex.interval(from, to));
    }

    private static void put(INDArray param, INDArray value) {
        param.assign(value.reshape(param.shape()));
    }

    /** SHA-256 of config.json, the shard index (if any) and every weight file of {@code dir}, by file name. */
    public static Map<String, String> sourceHashes(Path dir) {
        Map<String, String> hashes = new TreeMap<>();
        for (String name : java.util.stream.Stream.concat(java.util.stream.Stream.of(CONFIG, INDEX), weightFiles(dir).stream())
                .distinct().toList()) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) {
                try {
                    hashes.put(name, org.rlsf.io.FileStore.sha256(Files.newInputStream(p)));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read " + p + ": " + e.getMessage(), e);
                }
            }
        }
        return hashes;
    }

    /** The weight files of {@code dir}, in order: model.safetensors, or the shards its index lists (each must exist). */
    static List<String> weightFiles(Path dir) {
        Path single = dir.resolve(WEIGHTS), index = dir.resolve(INDEX);
        List<String> names;
        if (Files.isRegularFile(index)) {
            names = Tensors.shards(index);
        } else if (Files.isRegularFile(single)) {
            names = List.of(WEIGHTS);
        } else {
            throw new IllegalArgumentException(dir + " has neither " + WEIGHTS + " nor " + INDEX
                    + " (rlsf reads safetensors weights only)");
        }
        for (String name : names) {
            if (!Files.isRegularFile(dir.resolve(name))) {
                throw new IllegalArgumentException(dir + ": weight shard " + name + " listed in " + INDEX + " is missing");
            }
        }
        return names;
    }

    /** The weight files of a directory: one file or the index's shards; tracks which tensors were read. */
    static final class Tensors implements AutoCloseable {
        private final Path dir;
        private final Map<String, SafeTensors> byTensor = new LinkedHashMap<>();
        private final List<SafeTensors> files;
        private final Set<String> used = new LinkedHashSet<>();

        private Tensors(Path dir, List<SafeTensors> files) {
            this.dir = dir;
            this.files = files;
            for (SafeTensors f : files) {
                for (String name : f.entries().keySet()) {
                    byTensor.putIfAbsent(name, f);
                }
            }
        }

        static Tensors open(Path dir) {
            List<SafeTensors> open = new java.util.ArrayList<>();
            try {
                for (String name : weightFiles(dir)) {
                    open.add(SafeTensors.open(dir.resolve(name)));
                }
                return new Tensors(dir, open);
            } catch (RuntimeException e) {
                open.forEach(SafeTensors::close);
                throw e;
            }
        }

        /** The distinct shard file names of an index, in order. */
        private static List<String> shards(Path index) {
            try {
                JsonNode map = JSON.readTree(index.toFile()).path("weight_map");
                if (!map.isObject() || map.size() == 0) {
                    throw new IllegalArgumentException(index + " has no weight_map");
                }
                Set<String> files = new LinkedHashSet<>();
                for (Iterator<JsonNode> it = map.elements(); it.hasNext(); ) {
                    files.add(it.next().asText());
                }
                return List.copyOf(files);
            } catch (IOException e) {
                throw new IllegalArgumentException(index + " is not readable JSON: " + e.getMessage(), e);
            }
        }

        String where() {
            return files.size() == 1 ? files.get(0).file() : dir + " (" + files.size() + " shards)";
        }

        boolean has(String name) {
            return byTensor.containsKey(name);
        }

        void ignore(String... names) {
            used.addAll(Arrays.asList(names));
        }

        /** The tensor as a float32 [shape] array; its shape must be the one config.json implies. */
        INDArray get(String name, long... shape) {
            SafeTensors f = byTensor.get(name);
            if (f == null) {
                throw new IllegalArgumentException(where() + " has no tensor " + name);
            }
            long[] actual = f.entries().get(name).shape();
            if (!Arrays.equals(actual, shape)) {
                throw new IllegalArgumentException(f.file() + ": tensor " + name + " has shape " + Arrays.toString(actual)
                        + " but config.json implies " + Arrays.toString(shape));
            }
            used.add(name);
            return Nd4j.create(f.floats(name), shape, 'c');
        }

        /** Fails on a tensor nothing read: a model variant rlsf would otherwise silently compute differently. */
        void requireAllUsed(HfConfig.Family family) {
            for (String name : byTensor.keySet()) {
                if (!used.contains(name) && !name.endsWith("rotary_emb.inv_freq")) {
                    throw new IllegalArgumentException(byTensor.get(name).file() + ": tensor " + name + " is not part of a "
                            + family.modelType + " model as config.json describes it");
                }
            }
        }

        @Override
        public void close() {
            files.forEach(SafeTensors::close);
        }
    }
}
