package org.rlsf.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.Tokenizer;
import org.rlsf.model.TransformerLm;

import java.util.List;

/**
 * A frozen reward model's score r(x, y) of prompt/response pairs (method.md §6.1): its head read at the last response
 * token, in row chunks so a large shard never builds one huge activation. The sequence layout is the one the reward
 * model trained on: the tokenizer's BOS (when it adds one), the prompt's ids, the response's ids.
 */
public final class RewardScorer {
    /** Rows per forward pass. */
    static final int CHUNK = 64;
    /** Graph lengths are multiples of this (fewer distinct graphs to build). */
    static final int LENGTH_STEP = 16;

    private RewardScorer() {
    }

    /**
     * Each pair's score, in order; {@code prompts} and {@code responses} are token ids of the reward model's tokenizer.
     * Rows are scored shortest first, each chunk through a graph only as long as its longest row (rounded up to
     * {@link #LENGTH_STEP}): causal attention makes the last token's state independent of the padding after it, so
     * this equals a pass over the whole context at a fraction of its cost.
     */
    public static double[] score(Checkpoint rewardModel, List<int[]> prompts, List<int[]> responses) {
        double[] out = new double[prompts.size()];
        forEachChunk(rewardModel, prompts, responses, (g, f, rows, seqs) -> {
            INDArray l = Nd4j.zeros(DataType.FLOAT, rows.length, 2, f.size(1));
            for (int b = 0; b < rows.length; b++) {
                l.putScalar(b, 0, Math.max(0, seqs[b].length - 1), 1);
            }
            double[] r = RewardMetrics.rowRewards(g, new DataSet(f, l));
            for (int b = 0; b < rows.length; b++) {
                out[rows[b]] = r[b];
            }
        });
        return out;
    }

    /**
     * A value model's value of the state before each response token (its head at position o + |prompt| − 1 + i, the
     * LM layout), per row, chunked and sized as {@link #score}.
     */
    public static List<float[]> values(Checkpoint valueModel, List<int[]> prompts, List<int[]> responses) {
        float[][] out = new float[prompts.size()][];
        int o = Tokenizer.promptOffset(valueModel.tokenizer().bosId());
        forEachChunk(valueModel, prompts, responses, (g, f, rows, seqs) -> {
            INDArray v = g.outputSingle(false, f);                                             // [mb, 1, len]
            for (int b = 0; b < rows.length; b++) {
                float[] values = new float[responses.get(rows[b]).length];
                int start = o + prompts.get(rows[b]).length - 1;
                for (int i = 0; i < values.length; i++) {
                    values[i] = v.getFloat(b, 0, start + i);
                }
                out[rows[b]] = values;
            }
        });
        return java.util.Arrays.asList(out);
    }

    private interface Chunk {
        /** {@code f}: the chunk's features [rows, len]; {@code rows}: their indices in the caller's lists. */
        void run(ComputationGraph g, INDArray f, int[] rows, int[][] seqs);
    }

    private static void forEachChunk(Checkpoint model, List<int[]> prompts, List<int[]> responses, Chunk chunk) {
        if (prompts.size() != responses.size()) {
            throw new IllegalArgumentException(prompts.size() + " prompts for " + responses.size() + " responses");
        }
        Tokenizer tok = model.tokenizer();
        int context = model.model().contextLength();
        int[][] seqs = new int[prompts.size()][];
        Integer[] order = new Integer[seqs.length];
        for (int i = 0; i < seqs.length; i++) {
            seqs[i] = sequence(tok.bosId(), prompts.get(i), responses.get(i));
            if (seqs[i].length > context) {
                throw new IllegalArgumentException("prompt + response " + i + " has " + seqs[i].length
                        + " tokens; the model's context is " + context);
            }
            order[i] = i;
        }
        java.util.Arrays.sort(order, java.util.Comparator.comparingInt(i -> seqs[i].length));
        java.util.Map<Integer, ComputationGraph> graphs = new java.util.HashMap<>();
        for (int from = 0; from < seqs.length; from += CHUNK) {
            int n = Math.min(CHUNK, seqs.length - from);
            int longest = seqs[order[from + n - 1]].length;
            int len = Math.min(context, Math.max(LENGTH_STEP, (longest + LENGTH_STEP - 1) / LENGTH_STEP * LENGTH_STEP));
            ComputationGraph g = graphs.computeIfAbsent(len, l -> scoringGraph(model, l));
            INDArray f = Nd4j.valueArrayOf(new long[]{n, len}, (double) tok.padId(), DataType.FLOAT);
            int[] rows = new int[n];
            int[][] chunkSeqs = new int[n][];
            for (int b = 0; b < n; b++) {
                rows[b] = order[from + b];
                chunkSeqs[b] = seqs[rows[b]];
                for (int t = 0; t < chunkSeqs[b].length; t++) {
                    f.putScalar(b, t, chunkSeqs[b][t]);
                }
            }
            chunk.run(g, f, rows, chunkSeqs);
        }
    }

    /** A reward-model-shaped checkpoint as a graph over {@code len} positions (its own may differ). */
    static ComputationGraph scoringGraph(Checkpoint c, int len) {
        ComputationGraph g = TransformerLm.create(TransformerLm.rewardConfiguration(c.model(), len,
                TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT), c.model());
        TransformerLm.copyParams(c.graph(), g);
        return g;
    }

    /** BOS (when the tokenizer adds one), prompt, response. */
    static int[] sequence(int bosId, int[] prompt, int[] response) {
        int o = Tokenizer.promptOffset(bosId);
        int[] s = new int[o + prompt.length + response.length];
        if (o == 1) {
            s[0] = bosId;
        }
        System.arraycopy(prompt, 0, s, o, prompt.length);
        System.arraycopy(response, 0, s, o + prompt.length, response.length);
        return s;
    }
}
