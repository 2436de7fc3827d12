package org.rlsf.model.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.model.Generation;
import org.rlsf.model.KvCacheDecoder;
import org.rlsf.model.TokenChooser;
import org.rlsf.model.TransformerWeights;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tiny random Hugging Face checkpoints of each supported family (src/test/resources/hf, written by
 * src/test/python/tiny_hf_models.py) imported and run on every path rlsf computes with: the training graph's full
 * forward, and the KV-cache decoder on its heap and ND4J steps. Each must give the log-probabilities of a PyTorch
 * forward written to Hugging Face's modeling code (golden.json) to 1e-4, and its greedy continuation.
 */
class HfImportTest {
    static final String[] MODELS = {"llama", "llama3-bf16", "qwen2-f16", "mistral-sharded", "gpt2", "gpt2-prefixed"};
    private static final double TOLERANCE = 1e-4;

    static Path fixture(String name) {
        return Path.of("src/test/resources/hf", name);
    }

    static JsonNode golden(String name) throws Exception {
        return new ObjectMapper().readTree(fixture(name).resolve("golden.json").toFile());
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "llama3-bf16", "qwen2-f16", "mistral-sharded", "gpt2", "gpt2-prefixed"})
    void theTrainingGraphAndBothDecoderPathsGiveTheReferenceLogProbs(String name) throws Exception {
        HfModel m = HfModel.load(fixture(name));
        JsonNode golden = golden(name);
        for (int s = 0; s < golden.get("sequences").size(); s++) {
            int[] seq = ints(golden.get("sequences").get(s));
            JsonNode expected = golden.get("log_probs").get(s);
            assertClose(expected, graphLogProbs(m, seq), name + " graph, sequence " + s);
            for (KvCacheDecoder.Attention attention : KvCacheDecoder.Attention.values()) {
                KvCacheDecoder decoder = new KvCacheDecoder(m.config().model(),
                        TransformerWeights.of(m.graph(), m.config().model()), attention);
                assertClose(expected, decoderLogProbs(decoder, seq, 4), name + " " + attention + ", sequence " + s);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "llama3-bf16", "qwen2-f16", "mistral-sharded", "gpt2", "gpt2-prefixed"})
    void greedyDecodingContinuesAsTheReference(String name) throws Exception {
        HfModel m = HfModel.load(fixture(name));
        JsonNode golden = golden(name);
        int[] prompt = ints(golden.get("greedy_prompt"));
        int[] expected = ints(golden.get("greedy"));
        for (KvCacheDecoder.Attention attention : KvCacheDecoder.Attention.values()) {
            KvCacheDecoder decoder = new KvCacheDecoder(m.config().model(), TransformerWeights.of(m.graph(), m.config().model()),
                    attention);
            List<Generation> out = decoder.generate(List.of(Arrays.copyOfRange(prompt, 1, prompt.length)), expected.length,
                    prompt[0], -1, TokenChooser.greedy(), 0, KvCacheDecoder.StepObserver.NONE);
            assertArrayEquals(expected, out.get(0).tokens(), name + " " + attention);
        }
    }

    /** Log-probabilities after each position from one forward pass of the graph. */
    static float[][] graphLogProbs(HfModel m, int[] seq) {
        ComputationGraph graph = m.graph();
        int t = Math.min(HfModel.GRAPH_SEQ_LEN, m.config().model().contextLength());
        INDArray features = Nd4j.zeros(DataType.FLOAT, 1, t);
        for (int i = 0; i < seq.length; i++) {
            features.putScalar(0, i, seq[i]);
        }
        INDArray probs = graph.outputSingle(false, features);   // [1, V, T]
        int v = (int) probs.size(1);
        float[][] out = new float[seq.length][v];
        for (int i = 0; i < seq.length; i++) {
            for (int k = 0; k < v; k++) {
                out[i][k] = (float) Math.log(probs.getDouble(0, k, i));
            }
        }
        return out;
    }

    /** Log-probabilities after each position: a prefill of the first {@code prompt} tokens, then one step per token. */
    static float[][] decoderLogProbs(KvCacheDecoder decoder, int[] seq, int prompt) {
        float[][] out = new float[seq.length][];
        KvCacheDecoder.Session s = decoder.start(new int[][]{Arrays.copyOf(seq, prompt)}, seq.length - prompt);
        out[prompt - 1] = s.prefill()[0];
        for (int i = prompt; i < seq.length; i++) {
            out[i] = s.step(new int[]{seq[i]})[0];
        }
        return out;
    }

    static void assertClose(JsonNode expected, float[][] actual, String what) {
        double max = 0;
        int rows = 0;
        for (int i = 0; i < actual.length; i++) {
            if (actual[i] == null) {
                continue;
            }
            rows++;
            for (int k = 0; k < actual[i].length; k++) {
                max = Math.max(max, Math.abs(expected.get(i).get(k).asDouble() - actual[i][k]));
            }
        }
        System.out.printf("%s: max |log p - log p_ref| = %.2e over %d positions%n", what, max, rows);
        assertTrue(rows > 0 && max <= TOLERANCE, what + ": max |log p - log p_ref| = " + max + " over " + rows + " positions");
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
