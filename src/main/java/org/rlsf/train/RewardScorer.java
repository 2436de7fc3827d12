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

    private RewardScorer() {
    }

    /** Each pair's score, in order; {@code prompts} and {@code responses} are token ids of the reward model's tokenizer. */
    public static double[] score(Checkpoint rewardModel, List<int[]> prompts, List<int[]> responses) {
        if (prompts.size() != responses.size()) {
            throw new IllegalArgumentException(prompts.size() + " prompts for " + responses.size() + " responses");
        }
        Tokenizer tok = rewardModel.tokenizer();
        ComputationGraph g = scoringGraph(rewardModel);
        int len = TransformerLm.seqLen(g);
        double[] out = new double[prompts.size()];
        for (int from = 0; from < prompts.size(); from += CHUNK) {
            int n = Math.min(CHUNK, prompts.size() - from);
            INDArray f = Nd4j.valueArrayOf(new long[]{n, len}, (double) tok.padId(), DataType.FLOAT);
            INDArray l = Nd4j.zeros(DataType.FLOAT, n, 2, len);
            for (int b = 0; b < n; b++) {
                int[] seq = sequence(tok.bosId(), prompts.get(from + b), responses.get(from + b));
                if (seq.length > len) {
                    throw new IllegalArgumentException("prompt + response " + (from + b) + " has " + seq.length
                            + " tokens; the reward model's context is " + len);
                }
                for (int t = 0; t < seq.length; t++) {
                    f.putScalar(b, t, seq[t]);
                }
                l.putScalar(b, 0, Math.max(0, seq.length - 1), 1);
            }
            System.arraycopy(RewardMetrics.rowRewards(g, new DataSet(f, l)), 0, out, from, n);
        }
        return out;
    }

    /** A reward-model-shaped checkpoint as a graph over the whole context (its own may be shorter). */
    static ComputationGraph scoringGraph(Checkpoint c) {
        ComputationGraph g = TransformerLm.create(TransformerLm.rewardConfiguration(c.model(), c.model().contextLength(),
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
