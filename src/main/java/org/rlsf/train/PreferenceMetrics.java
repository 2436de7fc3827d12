package org.rlsf.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.rlsf.config.TrainConfig;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.graph.DpoOutputLayer;
import org.rlsf.model.graph.EagerDpoHead;
import org.rlsf.pairs.PreferenceExample;

import java.util.List;

/**
 * The metrics TRL users read, computed from the policy's log-probabilities of the held-out pairs' response tokens
 * (projected to the vocabulary in chunks, {@link EagerDpoHead#responseLogProbs}: never the whole softmax):
 * loss, rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies, logps/chosen,
 * logps/rejected (means over pairs; rewards are β(log π − log π_ref) summed over response tokens).
 */
public record PreferenceMetrics(int pairs, double loss, double rewardsChosen, double rewardsRejected, double margins,
                                double accuracy, double logpsChosen, double logpsRejected) implements HeldoutMetrics {

    public static PreferenceMetrics of(ComputationGraph graph, List<PreferenceBatch> batches, TrainConfig cfg) {
        int n = 0;
        double loss = 0, rc = 0, rr = 0, acc = 0, lc = 0, lr = 0;
        for (PreferenceBatch b : batches) {
            DataSet ds = b.toDataSet();
            double[] logps = responseLogProbs(graph, ds);
            for (int p = 0; p < b.pairs().size(); p++) {
                double policyChosen = logps[2 * p];
                double policyRejected = logps[2 * p + 1];
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

    /** Each row's summed response log-probability under the graph (the DPO graph: its head's input and parameters). */
    static double[] responseLogProbs(ComputationGraph graph, DataSet ds) {
        INDArray x = TransformerLm.finalNormOutput(graph, ds.getFeatures());
        var head = graph.getLayer(TransformerLm.HEAD);
        return EagerDpoHead.responseLogProbs(x, ds.getLabels(), head.getParam(DpoOutputLayer.WEIGHT),
                head.getParam(DpoOutputLayer.BIAS));   // in the graph's precision, summed in double
    }

    @Override
    public boolean finite() {
        return pairs == 0 || Double.isFinite(loss) && Double.isFinite(logpsChosen) && Double.isFinite(logpsRejected);
    }

    /** TRL's names and order. */
    @Override
    public java.util.Map<String, Double> values() {
        java.util.Map<String, Double> v = new java.util.LinkedHashMap<>();
        v.put("loss", loss);
        v.put("rewards/chosen", rewardsChosen);
        v.put("rewards/rejected", rewardsRejected);
        v.put("rewards/margins", margins);
        v.put("rewards/accuracies", accuracy);
        v.put("logps/chosen", logpsChosen);
        v.put("logps/rejected", logpsRejected);
        return v;
    }
}
