package org.rlsf.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.graph.RewardHead;
import org.rlsf.pairs.PreferenceExample;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The reward model on held-out pairs: the Bradley–Terry loss it trains on, pair accuracy (r_c > r_r), and the mean
 * rewards and margin (means over pairs).
 */
public record RewardMetrics(int pairs, double loss, double accuracy, double rewardsChosen, double rewardsRejected,
                            double margins) implements HeldoutMetrics {

    public static RewardMetrics of(ComputationGraph graph, List<PreferenceBatch> batches, boolean useMargin) {
        int n = 0;
        double loss = 0, acc = 0, rc = 0, rr = 0;
        for (PreferenceBatch b : batches) {
            double[] r = rowRewards(graph, RewardBatch.toDataSet(b, useMargin));
            for (int p = 0; p < b.pairs().size(); p++) {
                PreferenceExample e = b.pairs().get(p);
                loss += DpoLoss.bradleyTerry(r[2 * p], r[2 * p + 1], RewardBatch.margin(e.confidenceGap(), useMargin));
                acc += r[2 * p] > r[2 * p + 1] ? 1 : 0;
                rc += r[2 * p];
                rr += r[2 * p + 1];
                n++;
            }
        }
        if (n == 0) {
            return new RewardMetrics(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
        return new RewardMetrics(n, loss / n, acc / n, rc / n, rr / n, (rc - rr) / n);
    }

    /**
     * Each row's reward: the reward head applied to the final norm's output at the row's last response token (where
     * channel 0 of the labels is non-zero), in the graph's precision, returned as doubles.
     */
    public static double[] rowRewards(ComputationGraph graph, DataSet ds) {
        INDArray x = TransformerLm.finalNormOutput(graph, ds.getFeatures());
        var head = graph.getLayer(TransformerLm.REWARD_HEAD);
        INDArray w = head.getParam(RewardHead.WEIGHT);
        double bias = head.getParam(RewardHead.BIAS).getDouble(0);
        INDArray sign = ds.getLabels();
        long rows = x.size(0), t = x.size(2), d = x.size(1);
        double[] out = new double[(int) rows];
        for (int r = 0; r < rows; r++) {
            int last = -1;
            for (int i = 0; i < t; i++) {
                if (sign.getDouble(r, 0, i) != 0) {
                    last = i;
                }
            }
            if (last < 0) {
                throw new IllegalArgumentException("row " + r + " marks no last response token");
            }
            double s = bias;
            for (int k = 0; k < d; k++) {
                s += x.getDouble(r, k, last) * w.getDouble(k, 0);
            }
            out[r] = s;
        }
        return out;
    }

    @Override
    public boolean finite() {
        return pairs == 0 || Double.isFinite(loss) && Double.isFinite(margins);
    }

    @Override
    public Map<String, Double> values() {
        Map<String, Double> v = new LinkedHashMap<>();
        v.put("loss", loss);
        v.put("accuracy", accuracy);
        v.put("rewards/chosen", rewardsChosen);
        v.put("rewards/rejected", rewardsRejected);
        v.put("rewards/margins", margins);
        return v;
    }
}
