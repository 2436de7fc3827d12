package org.rlsf.train;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.model.Tokenizer;
import org.rlsf.ppo.Rollout;

import java.io.Serializable;
import java.util.List;

/**
 * A minibatch of a PPO round as shipped to Spark workers (plain Java; arrays are built on the worker), in the LM layout
 * (position t predicts token t + 1), for the policy ({@link org.rlsf.model.graph.PpoOutputLayer}: next id, mask, old
 * log-prob, advantage) and for the value model ({@link org.rlsf.model.graph.ValueHead}: mask, old value, return).
 */
public record PpoBatch(List<Rollout> rollouts, List<double[]> advantages, List<double[]> returns, int seqLen, int bosId,
                       int padId) implements Serializable {
    public PpoBatch {
        rollouts = List.copyOf(rollouts);           // shipped to workers: never a view such as a subList
        advantages = List.copyOf(advantages);
        returns = List.copyOf(returns);
    }

    /** Positions a rollout needs in the LM layout. */
    public static int positions(Rollout r, int bosId) {
        return Tokenizer.promptOffset(bosId) + r.prompt().length + r.response().length - 1;
    }

    public DataSet policyDataSet() {
        return build(true);
    }

    public DataSet valueDataSet() {
        return build(false);
    }

    private DataSet build(boolean policy) {
        int mb = rollouts.size(), t = seqLen, ch = policy ? 4 : 3;
        float[] features = new float[mb * t];
        float[] labels = new float[mb * ch * t];
        java.util.Arrays.fill(features, padId);
        for (int b = 0; b < mb; b++) {
            Rollout r = rollouts.get(b);
            int[] s = RewardScorer.sequence(bosId, r.prompt(), r.response());
            if (s.length - 1 > t) {
                throw new IllegalArgumentException("rollout " + r.promptId() + " needs " + (s.length - 1) + " positions, more than " + t);
            }
            int start = s.length - 1 - r.response().length;                // the position predicting response[0]
            int base = b * ch * t;
            for (int i = 0; i < s.length - 1; i++) {
                features[b * t + i] = s[i];
                if (policy) {
                    labels[base + i] = s[i + 1];
                }
            }
            for (int k = 0; k < r.response().length; k++) {
                int pos = start + k;
                if (policy) {
                    labels[base + t + pos] = 1;
                    labels[base + 2 * t + pos] = r.logProbs()[k];
                    labels[base + 3 * t + pos] = (float) advantages.get(b)[k];
                } else {
                    labels[base + pos] = 1;
                    labels[base + t + pos] = r.values()[k];
                    labels[base + 2 * t + pos] = (float) returns.get(b)[k];
                }
            }
        }
        return new DataSet(Nd4j.create(features, new long[]{mb, t}, 'c').castTo(DataType.FLOAT),
                Nd4j.create(labels, new long[]{mb, ch, t}, 'c').castTo(DataType.FLOAT));
    }
}
