package org.rlsf.model;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.TestModels;
import org.rlsf.config.Architecture;
import org.rlsf.config.ModelConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The eager KV-cache path must reproduce the training graph's distributions exactly enough, with the cache and the
 * steps' attention in Java ({@link KvCacheDecoder.Attention#HEAP}, the CPU default, here) and in ND4J
 * ({@link KvCacheDecoderNd4jTest}, what CUDA runs: every test again), for rlsf's own design here and each Hugging Face
 * family's design in the subclasses ({@code LlamaDecoderTest}, {@code Qwen2DecoderTest}, {@code Gpt2DecoderTest}, each
 * on both paths). Subclasses are top-level classes: Surefire skips nested ones.
 */
class KvCacheDecoderTest {
    private static final int V = 13;
    private static final int T = 20;
    private final ModelConfig model = config();
    private final ComputationGraph graph = TestModels.graph(model, T, DataType.FLOAT);
    private final KvCacheDecoder decoder = new KvCacheDecoder(model, TransformerWeights.of(graph, model), attention());

    KvCacheDecoder.Attention attention() {
        return KvCacheDecoder.Attention.HEAP;
    }

    /** rlsf's own design; the nested classes run every test on the Hugging Face families' designs. */
    ModelConfig config() {
        return TestModels.small(V);
    }

    /** Llama / Mistral: RMSNorm, rotary positions, SwiGLU, 4 query heads on 2 key/value heads, no biases. */
    static ModelConfig llama() {
        return new ModelConfig(V, 16, 2, 4, 24, 24, 1e-5, 0.3, 11, Architecture.llama(2, 10000, null, false, false, false));
    }

    /** Qwen2: Llama's design with q/k/v biases, 4 query heads on one key/value head, a large rotary base. */
    static ModelConfig qwen2() {
        return new ModelConfig(V, 16, 2, 4, 24, 24, 1e-6, 0.3, 12, Architecture.llama(1, 1e6, null, true, false, false));
    }

    /** GPT-2: rlsf's design with a head without bias. */
    static ModelConfig gpt2() {
        return new ModelConfig(V, 16, 2, 2, 32, 24, 1e-5, 0.3, 13, Architecture.gpt2());
    }

    /** Teacher forcing through the cache gives the log-probs sampling recorded (PPO's reference log-probs). */
    @Test
    void forcedLogProbsRepeatWhatSamplingRecorded() {
        List<int[]> prompts = List.of(new int[]{3, 4, 5}, new int[]{6}, new int[]{7, 8});
        List<Generation> gens = decoder.generate(prompts, 7, 1, 2, TokenChooser.sampling(0.9, 0), 17,
                KvCacheDecoder.StepObserver.NONE);
        List<int[]> continuations = gens.stream().map(Generation::tokens).toList();
        List<float[]> forced = decoder.forcedLogProbs(prompts, continuations, 1);
        for (int b = 0; b < prompts.size(); b++) {
            assertArrayEquals(gens.get(b).tokenLogProbs(), forced.get(b), 1e-5f, "row " + b);
        }
        List<float[]> none = decoder.forcedLogProbs(List.of(new int[]{3}), List.of(new int[0]), 1);
        assertEquals(0, none.get(0).length);
    }

    @Test
    void theCpuBackendDecodesFloat32OnTheHeapAndEverythingElseInNd4j() {
        assertEquals(KvCacheDecoder.Attention.HEAP, new KvCacheDecoder(model, TransformerWeights.of(graph, model)).attention());
        ComputationGraph doubles = TestModels.graph(model, T, DataType.DOUBLE);
        assertEquals(KvCacheDecoder.Attention.ND4J,
                new KvCacheDecoder(model, TransformerWeights.of(doubles, model)).attention());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new KvCacheDecoder(model, TransformerWeights.of(doubles, model), KvCacheDecoder.Attention.HEAP));
        assertTrue(e.getMessage().contains("float32"), e.getMessage());
    }

    /** Next-token probabilities after each position of {@code seq}, from one full forward pass. */
    private float[][] graphDistributions(int[] seq) {
        return graphDistributions(graph, seq);
    }

    private static float[][] graphDistributions(ComputationGraph graph, int[] seq) {
        INDArray features = Nd4j.zeros(DataType.FLOAT, 1, T);
        for (int i = 0; i < seq.length; i++) {
            features.putScalar(0, i, seq[i]);
        }
        INDArray probs = graph.outputSingle(false, features);   // [1, V, T]
        float[][] out = new float[seq.length][V];
        for (int i = 0; i < seq.length; i++) {
            for (int v = 0; v < V; v++) {
                out[i][v] = probs.getFloat(0, v, i);
            }
        }
        return out;
    }

    private static int[] randomSeq(Random rng, int length) {
        int[] s = new int[length];
        s[0] = 1;
        for (int i = 1; i < length; i++) {
            s[i] = 3 + rng.nextInt(V - 3);
        }
        return s;
    }

    private static void assertClose(float[] expected, float[] logProbs, String what) {
        double maxDiff = 0;
        for (int v = 0; v < expected.length; v++) {
            maxDiff = Math.max(maxDiff, Math.abs(expected[v] - Math.exp(logProbs[v])));
        }
        assertTrue(maxDiff <= 1e-4, what + ": max |p_graph - p_cache| = " + maxDiff);
    }

    @Test
    void distributionsAreNotTrivial() {
        float[][] d = graphDistributions(randomSeq(new Random(1), 8));
        float max = 0;
        for (float p : d[7]) {
            max = Math.max(max, p);
        }
        assertTrue(max > 2.0 / V, "the test model should be peaked enough to make the comparison meaningful, max p=" + max);
    }

    @Test
    void prefillAndIncrementalStepsMatchFullForward() {
        int[] seq = randomSeq(new Random(7), 15);
        float[][] expected = graphDistributions(seq);
        int prompt = 5;
        KvCacheDecoder.Session s = decoder.start(new int[][]{Arrays.copyOf(seq, prompt)}, seq.length - prompt);
        float[][] lp = s.prefill();
        assertClose(expected[prompt - 1], lp[0], "after prefill");
        for (int i = prompt; i < seq.length; i++) {
            lp = s.step(new int[]{seq[i]});
            assertClose(expected[i], lp[0], "position " + i);
        }
    }

    @Test
    void leftPaddedBatchMatchesEachRowAlone() {
        Random rng = new Random(3);
        int[][] rows = {randomSeq(rng, 3), randomSeq(rng, 7), randomSeq(rng, 5)};
        int extra = 6;
        int[][] continuation = new int[rows.length][extra];
        for (int[] c : continuation) {
            for (int i = 0; i < extra; i++) {
                c[i] = 3 + rng.nextInt(V - 3);
            }
        }
        KvCacheDecoder.Session s = decoder.start(rows, extra);
        float[][] lp = s.prefill();
        List<float[][]> expected = new ArrayList<>();
        for (int b = 0; b < rows.length; b++) {
            int[] full = new int[rows[b].length + extra];
            System.arraycopy(rows[b], 0, full, 0, rows[b].length);
            System.arraycopy(continuation[b], 0, full, rows[b].length, extra);
            expected.add(graphDistributions(full));
            assertClose(expected.get(b)[rows[b].length - 1], lp[b], "row " + b + " after prefill");
        }
        for (int i = 0; i < extra; i++) {
            int[] next = new int[rows.length];
            for (int b = 0; b < rows.length; b++) {
                next[b] = continuation[b][i];
            }
            lp = s.step(next);
            for (int b = 0; b < rows.length; b++) {
                assertClose(expected.get(b)[rows[b].length + i], lp[b], "row " + b + " step " + i);
            }
        }
    }

    @Test
    void aWideBatchStillMatchesTheGraph() {
        Random rng = new Random(23);
        int n = 4096 / model.dFf() + 2;   // more hidden values than the Java GELU once took (ND4J's six ops above)
        int extra = 3;
        int[][] rows = new int[n][];
        int[][] continuation = new int[n][extra];
        for (int b = 0; b < n; b++) {
            rows[b] = randomSeq(rng, 3 + b % 4);
            for (int i = 0; i < extra; i++) {
                continuation[b][i] = 3 + rng.nextInt(V - 3);
            }
        }
        KvCacheDecoder.Session s = decoder.start(rows, extra);
        s.prefill();
        float[][][] steps = new float[extra][][];
        for (int i = 0; i < extra; i++) {
            int[] next = new int[n];
            for (int b = 0; b < n; b++) {
                next[b] = continuation[b][i];
            }
            steps[i] = s.step(next);
        }
        for (int b = 0; b < n; b++) {
            int[] full = new int[rows[b].length + extra];
            System.arraycopy(rows[b], 0, full, 0, rows[b].length);
            System.arraycopy(continuation[b], 0, full, rows[b].length, extra);
            float[][] expected = graphDistributions(full);
            for (int i = 0; i < extra; i++) {
                assertClose(expected[rows[b].length + i], steps[i][b], "row " + b + " of " + n + ", step " + i);
            }
        }
    }

    @Test
    void aNonDefaultLayerNormEpsilonStillMatchesTheGraph() {
        ModelConfig wide = new ModelConfig(V, 16, 2, 2, 32, 24, 1e-2, 0.3, 11);
        ComputationGraph g = TestModels.graph(wide, T, DataType.FLOAT);
        KvCacheDecoder d = new KvCacheDecoder(wide, TransformerWeights.of(g, wide), attention());
        int[] seq = randomSeq(new Random(17), 6);
        float[][] expected = graphDistributions(g, seq);
        KvCacheDecoder.Session session = d.start(new int[][]{Arrays.copyOf(seq, 3)}, 3);
        assertClose(expected[2], session.prefill()[0], "eps 1e-2 after prefill");
        for (int i = 3; i < seq.length; i++) {
            assertClose(expected[i], session.step(new int[]{seq[i]})[0], "eps 1e-2 after step " + i);
        }
    }

    @Test
    void forkedRowsContinueTheirParentRows() {
        Random rng = new Random(11);
        int[][] rows = {randomSeq(rng, 3), randomSeq(rng, 6), randomSeq(rng, 4)};
        KvCacheDecoder.Session parent = decoder.start(rows, 3);
        parent.prefill();
        int[] pick = {2, 0, 2, 1};                 // rows repeat and change order, as branches of prompts do
        int[] next = {5, 6, 7, 8};
        KvCacheDecoder.Session fork = parent.fork(pick);
        assertEquals(4, fork.batch());
        float[][] lp = fork.step(next);
        for (int i = 0; i < pick.length; i++) {
            int[] full = Arrays.copyOf(rows[pick[i]], rows[pick[i]].length + 1);
            full[full.length - 1] = next[i];
            assertClose(graphDistributions(full)[full.length - 1], lp[i], "fork row " + i + " (parent row " + pick[i] + ")");
        }
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, fork::prefill);
    }

    @Test
    void finishedRowsLeaveTheBatchWithoutChangingTheOthers() {
        Random rng = new Random(13);
        List<int[]> prompts = new ArrayList<>();
        for (int b = 0; b < 8; b++) {
            prompts.add(Arrays.copyOfRange(randomSeq(rng, 2 + b % 5), 1, 2 + b % 5));   // 1-5 tokens, left-padded
        }
        int n = 10;
        List<Generation> free = decoder.generate(prompts, n, 1, -1, TokenChooser.greedy(), 0, KvCacheDecoder.StepObserver.NONE);
        // an EOS that stops at least half of the rows early while others go on, so the batch is compacted
        int eos = -1;
        for (int cand = 3; cand < V && eos < 0; cand++) {
            int early = 0, late = 0;
            for (Generation g : free) {
                int at = indexOf(g.tokens(), cand);
                early += at >= 0 && at < n / 2 ? 1 : 0;
                late += at < 0 || at >= n / 2 + 1 ? 1 : 0;
            }
            eos = 2 * early >= prompts.size() && late > 0 ? cand : -1;
        }
        assertTrue(eos >= 0, "no token stops half the rows early: the test model is too uniform");
        int stop = eos;
        boolean[] dropped = {false};
        List<Generation> batched = decoder.generate(prompts, n, 1, stop, TokenChooser.greedy(), 0, (step, lp, chosen, active) -> {
            for (float[] row : lp) {
                dropped[0] |= row == null;
            }
        });
        assertTrue(dropped[0], "finished rows should have left the batch");
        for (int b = 0; b < prompts.size(); b++) {
            Generation alone = decoder.generate(List.of(prompts.get(b)), n, 1, stop, TokenChooser.greedy(), 0,
                    KvCacheDecoder.StepObserver.NONE).get(0);
            assertArrayEquals(alone.tokens(), batched.get(b).tokens(), "row " + b);
            assertEquals(alone.finish(), batched.get(b).finish(), "row " + b);
            for (int i = 0; i < alone.tokens().length; i++) {
                assertEquals(alone.tokenLogProbs()[i], batched.get(b).tokenLogProbs()[i], 1e-4, "row " + b + " token " + i);
            }
        }
    }

    private static int indexOf(int[] a, int x) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == x) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void greedyTokensEqualRecomputedGreedy() {
        Random rng = new Random(5);
        List<int[]> prompts = List.of(Arrays.copyOfRange(randomSeq(rng, 5), 1, 5), Arrays.copyOfRange(randomSeq(rng, 3), 1, 3));
        int n = 10;
        List<Generation> gens = decoder.generate(prompts, n, 1, -1, TokenChooser.greedy(), 0, KvCacheDecoder.StepObserver.NONE);
        for (int b = 0; b < prompts.size(); b++) {
            int[] seq = new int[prompts.get(b).length + 1 + n];
            seq[0] = 1;
            System.arraycopy(prompts.get(b), 0, seq, 1, prompts.get(b).length);
            int len = prompts.get(b).length + 1;
            for (int i = 0; i < n; i++) {
                float[] dist = graphDistributions(Arrays.copyOf(seq, len))[len - 1];
                int best = 0;
                for (int v = 1; v < V; v++) {
                    if (dist[v] > dist[best]) {
                        best = v;
                    }
                }
                seq[len++] = best;
            }
            int[] expected = Arrays.copyOfRange(seq, prompts.get(b).length + 1, len);
            assertArrayEquals(expected, gens.get(b).tokens(), "row " + b);
            assertEquals(Generation.FinishReason.MAX_TOKENS, gens.get(b).finish());
        }
    }

    @Test
    void observerSeesFullDistributionsAndEosStopsRows() {
        List<int[]> prompts = List.of(new int[]{4, 5}, new int[]{6});
        List<Double> sums = new ArrayList<>();
        int[] firstChoice = new int[2];
        List<Generation> probe = decoder.generate(prompts, 1, 1, -1, TokenChooser.greedy(), 0, KvCacheDecoder.StepObserver.NONE);
        int eos = probe.get(0).tokens()[0];   // declare row 0's first greedy token to be EOS
        List<Generation> gens = decoder.generate(prompts, 8, 1, eos, TokenChooser.greedy(), 0, (step, lp, chosen, active) -> {
            for (float[] row : lp) {
                double s = 0;
                for (float x : row) {
                    s += Math.exp(x);
                }
                sums.add(s);
                assertEquals(V, row.length);
            }
            if (step == 0) {
                firstChoice[0] = chosen[0];
            }
        });
        sums.forEach(s -> assertEquals(1.0, s, 1e-4));
        assertEquals(eos, firstChoice[0]);
        assertArrayEquals(new int[]{eos}, gens.get(0).tokens());
        assertEquals(Generation.FinishReason.EOS, gens.get(0).finish());
        // row 0 leaving the batch changes nothing for row 1: it decodes as it would alone
        List<Generation> alone = decoder.generate(List.of(prompts.get(1)), 8, 1, eos, TokenChooser.greedy(), 0,
                KvCacheDecoder.StepObserver.NONE);
        assertArrayEquals(alone.get(0).tokens(), gens.get(1).tokens());
    }

    @Test
    void samplingIsSeededAndTemperatureZeroIgnoresTheSeed() {
        List<int[]> prompts = List.of(new int[]{4, 5}, new int[]{7, 8, 9});
        TokenChooser hot = TokenChooser.sampling(1.5, 0);
        List<Generation> a = decoder.generate(prompts, 8, 1, -1, hot, 42, KvCacheDecoder.StepObserver.NONE);
        List<Generation> b = decoder.generate(prompts, 8, 1, -1, hot, 42, KvCacheDecoder.StepObserver.NONE);
        for (int i = 0; i < prompts.size(); i++) {
            assertArrayEquals(a.get(i).tokens(), b.get(i).tokens());
        }
        List<Generation> c = decoder.generate(prompts, 8, 1, -1, hot, 43, KvCacheDecoder.StepObserver.NONE);
        boolean differs = false;
        for (int i = 0; i < prompts.size(); i++) {
            differs |= !java.util.Arrays.equals(a.get(i).tokens(), c.get(i).tokens());
        }
        assertTrue(differs, "another seed draws other samples");
        List<Generation> g1 = decoder.generate(prompts, 8, 1, -1, TokenChooser.sampling(0, 0), 1, KvCacheDecoder.StepObserver.NONE);
        List<Generation> g2 = decoder.generate(prompts, 8, 1, -1, TokenChooser.sampling(0, 0), 999, KvCacheDecoder.StepObserver.NONE);
        for (int i = 0; i < prompts.size(); i++) {
            assertArrayEquals(g1.get(i).tokens(), g2.get(i).tokens());
        }
    }

    @Test
    void promptLongerThanContextIsAClearError() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> decoder.generate(List.of(new int[20]), 10, 1, 2, TokenChooser.greedy(), 0, KvCacheDecoder.StepObserver.NONE));
        assertTrue(e.getMessage().contains("exceeds the model's context length 24"), e.getMessage());
    }
}
