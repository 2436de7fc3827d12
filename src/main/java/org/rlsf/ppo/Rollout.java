package org.rlsf.ppo;

import java.io.Serializable;

/**
 * One sampled response of a PPO round, as the executor that sampled it leaves it: the prompt and response tokens (BOS
 * and EOS as the model writes them; EOS, when reached, is the response's last token), each response token's log-prob
 * under the policy that sampled it and under the frozen reference, the value model's value of the state before each
 * response token, and the reward model's score of the whole response.
 */
public record Rollout(String promptId, int[] prompt, int[] response, float[] logProbs, float[] refLogProbs, float[] values,
                      double score, boolean finished) implements Serializable {
    public Rollout {
        if (response.length == 0 || logProbs.length != response.length || refLogProbs.length != response.length
                || values.length != response.length) {
            throw new IllegalArgumentException("rollout " + promptId + ": response, log-probs, reference log-probs and "
                    + "values must have one entry per response token");
        }
    }

    /** Σ_t (log π − log π_ref) over the response: the sampled estimate of KL(π ‖ π_ref) for this response. */
    public double kl() {
        double s = 0;
        for (int t = 0; t < response.length; t++) {
            s += logProbs[t] - refLogProbs[t];
        }
        return s;
    }
}
