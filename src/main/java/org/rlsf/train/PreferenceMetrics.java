package org.rlsf.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.rlsf.config.TrainConfig;
import org.rlsf.pairs.PreferenceExample;

import java.util.List;

/**
 * The metrics TRL users read, computed in plain Java from the policy's softmax on held-out pairs:
 * loss, rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies, logps/chosen,
 * logps/rejected (means over pairs; rewards are β(log π − log π_ref) summed over response tokens).
 */
public record PreferenceMetrics(int pairs, double loss, double rewardsChosen, double rewardsRejected, double margins,
                                double accuracy, double logpsChosen, double logpsRejected) {

    public static PreferenceMetrics of(ComputationGraph graph, List<PreferenceBatch> batches, TrainConfig cfg) {
        int n = 0;
        double loss = 0, rc = 0, rr = 0, acc = 0, lc = 0, lr = 0;
        for (PreferenceBatch b : batches) {
            DataSet ds = b.toDataSet();
            INDArray probs = graph.outputSingle(false, ds.getFeatures()).castTo(DataType.DOUBLE);   // [mb, V, T]
            INDArray labels = ds.getLabels();
            for (int p = 0; p < b.pairs().size(); p++) {
                double policyChosen = logp(probs, labels, 2 * p, b.seqLen());
                double policyRejected = logp(probs, labels, 2 * p + 1, b.seqLen());
                PreferenceExample e = b.pairs().get(p);
                double h = DpoLoss.h(policyChosen, policyRejected, e.refChosen(), e.refRejected());
                loss += cfg.loss() == TrainConfig.Loss.IPO ? DpoLoss.ipo(h, cfg.beta()) : DpoLoss.dpo(h, cfg.beta(), cfg.labelSmoothing());
                double c = DpoLoss.reward(policyChosen, e.refChosen(), cfg.beta());
                double r = DpoLoss.reward(policyRejected, e.refRejected(), cfg.beta());
                rc += c;
                rr += r;
                acc += c > r ? 1 : 0;
                lc += policyChosen;
                lr += policyRejected;
                n++;
            }
        }
        if (n == 0) {
            return new PreferenceMetrics(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
        return new PreferenceMetrics(n, loss / n, rc / n, rr / n, (rc - rr) / n, acc / n, lc / n, lr / n);
    }

    private static double logp(INDArray probs, INDArray labels, int row, int t) {
        double s = 0;
        for (int i = 0; i < t; i++) {
            if (labels.getDouble(row, 1, i) != 0) {
                s += Math.log(Math.max(probs.getDouble(row, labels.getInt(row, 0, i), i), 1e-300));
            }
        }
        return s;
    }

    public boolean finite() {
        return pairs == 0 || Double.isFinite(loss) && Double.isFinite(logpsChosen) && Double.isFinite(logpsRejected);
    }
}
