package org.rlsf.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.util.List;

/**
 * Mean next-token negative log-likelihood (nats per predicted token) of held-out sequences under a
 * graph — computed from the softmax outputs, so it excludes regularisation terms that
 * {@code ComputationGraph.score} would add. Uniform guessing scores ln V.
 */
public final class HeldoutLoss {
    private HeldoutLoss() {
    }

    /** NaN when there is nothing to score. */
    public static double of(ComputationGraph graph, List<int[]> sequences, int seqLen, int padId, int batchSize) {
        double nll = 0;
        long count = 0;
        for (int start = 0; start < sequences.size(); start += batchSize) {
            List<int[]> part = sequences.subList(start, Math.min(sequences.size(), start + batchSize));
            DataSet ds = new TokenBatch(part.toArray(new int[0][]), seqLen, padId).toDataSet();
            INDArray probs = graph.outputSingle(false, ds.getFeatures()).castTo(DataType.DOUBLE);  // [mb, V, T]
            for (int b = 0; b < part.size(); b++) {
                int[] s = part.get(b);
                for (int i = 0; i < s.length - 1; i++) {
                    if (s[i + 1] < 0) {
                        continue;   // fed, not trained on (LmExamples.unscored)
                    }
                    double p = probs.getDouble(b, s[i + 1], i);
                    nll -= Math.log(Math.max(p, 1e-30));
                    count++;
                }
            }
        }
        return count == 0 ? Double.NaN : nll / count;
    }
}
