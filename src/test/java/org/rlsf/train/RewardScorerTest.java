package org.rlsf.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.WordTokenizer;
import org.rlsf.model.graph.RewardHead;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The reward model's scorer: rows sorted by length through graphs sized to each chunk give, in the caller's order,
 * the scores of one pass over the whole context.
 */
class RewardScorerTest {
    private static final ModelConfig M = new ModelConfig(12, 8, 2, 2, 16, 40, 1e-5, 0.5, 3);

    @Test
    void chunkedShortGraphsScoreAsTheWholeContextDoes() {
        WordTokenizer tok = WordTokenizer.train(List.of("a b c d e"), M.vocabSize());
        ComputationGraph g = TransformerLm.create(TransformerLm.rewardConfiguration(M, M.contextLength(),
                TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT), M);
        var head = g.getLayer(TransformerLm.REWARD_HEAD);
        head.getParam(RewardHead.WEIGHT).assign(Nd4j.rand(DataType.FLOAT, M.dModel(), 1).subi(0.5));
        head.getParam(RewardHead.BIAS).assign(0.3);
        Checkpoint rm = new Checkpoint(g, tok, M, Map.of(), "test");

        Random rnd = new Random(5);
        List<int[]> prompts = new ArrayList<>(), responses = new ArrayList<>();
        for (int i = 0; i < RewardScorer.CHUNK + 13; i++) {   // more than one chunk, lengths 2..38 in random order
            prompts.add(ids(rnd, 1 + rnd.nextInt(6)));
            responses.add(ids(rnd, rnd.nextInt(30)));
        }
        double[] scored = RewardScorer.score(rm, prompts, responses);

        int len = M.contextLength();
        INDArray f = Nd4j.valueArrayOf(new long[]{prompts.size(), len}, (double) tok.padId(), DataType.FLOAT);
        INDArray l = Nd4j.zeros(DataType.FLOAT, prompts.size(), 2, len);
        for (int b = 0; b < prompts.size(); b++) {
            int[] seq = RewardScorer.sequence(tok.bosId(), prompts.get(b), responses.get(b));
            for (int t = 0; t < seq.length; t++) {
                f.putScalar(b, t, seq[t]);
            }
            l.putScalar(b, 0, seq.length - 1, 1);
        }
        double[] whole = RewardMetrics.rowRewards(g, new DataSet(f, l));
        for (int i = 0; i < whole.length; i++) {
            assertEquals(whole[i], scored[i], 1e-5, "row " + i);
        }
        // the per-position head (a value model's values) through the same chunks equals the full-context output
        INDArray v = g.outputSingle(false, f);
        List<float[]> values = RewardScorer.values(rm, prompts, responses);
        for (int b = 0; b < prompts.size(); b++) {
            int start = 1 + prompts.get(b).length - 1;   // the tokenizer adds BOS
            assertEquals(responses.get(b).length, values.get(b).length);
            for (int i = 0; i < values.get(b).length; i++) {
                assertEquals(v.getFloat(b, 0, start + i), values.get(b)[i], 1e-5, "row " + b + " position " + i);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> RewardScorer.score(rm, List.of(ids(rnd, 30)), List.of(ids(rnd, 20))),
                "longer than the context");
    }

    private static int[] ids(Random rnd, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = 4 + rnd.nextInt(M.vocabSize() - 4);
        }
        return out;
    }
}
