package org.rlsf.ppo;

/**
 * RLSF-PPO's arithmetic in plain Java (method.md §6.2–6.3), for the rollout scoring on executors, the loss layers' tests
 * and the metrics: the per-token KL-penalised reward, generalised advantage estimation, advantage whitening, the
 * clipped surrogate and the clipped value loss. Arrays run over one response's tokens.
 */
public final class PpoMath {
    private PpoMath() {
    }

    /**
     * Per-token rewards: {@code −β_KL·(log π(a_t) − log π_ref(a_t))} at every token, plus the reward model's score at
     * the last.
     */
    public static double[] klRewards(double[] logProbs, double[] refLogProbs, double score, double klCoef) {
        if (logProbs.length != refLogProbs.length || logProbs.length == 0) {
            throw new IllegalArgumentException("log-probs (" + logProbs.length + ") and reference log-probs ("
                    + refLogProbs.length + ") must cover the same, non-empty response");
        }
        double[] r = new double[logProbs.length];
        for (int t = 0; t < r.length; t++) {
            r[t] = -klCoef * (logProbs[t] - refLogProbs[t]);
        }
        r[r.length - 1] += score;
        return r;
    }

    /** Advantages and returns (= advantages + values) of one response. */
    public record Gae(double[] advantages, double[] returns) {
    }

    /**
     * Generalised advantage estimation: δ_t = r_t + γ·V_{t+1} − V_t (V after the last token = {@code lastValue}, 0 for a
     * finished response), A_t = δ_t + γλ·A_{t+1}.
     */
    public static Gae gae(double[] rewards, double[] values, double lastValue, double gamma, double lambda) {
        if (rewards.length != values.length) {
            throw new IllegalArgumentException("rewards (" + rewards.length + ") and values (" + values.length + ") differ in length");
        }
        int n = rewards.length;
        double[] adv = new double[n], ret = new double[n];
        double next = 0, nextValue = lastValue;
        for (int t = n - 1; t >= 0; t--) {
            double delta = rewards[t] + gamma * nextValue - values[t];
            next = delta + gamma * lambda * next;
            adv[t] = next;
            ret[t] = next + values[t];
            nextValue = values[t];
        }
        return new Gae(adv, ret);
    }

    /**
     * Whitens advantages over a batch in place: mean 0, unit variance (the unbiased variance, plus 1e-8, as TRL's
     * {@code masked_whiten}). Fewer than two values are only centred.
     */
    public static void whiten(double[] values) {
        int n = values.length;
        if (n == 0) {
            return;
        }
        double mean = 0;
        for (double v : values) {
            mean += v;
        }
        mean /= n;
        double var = 0;
        for (double v : values) {
            var += (v - mean) * (v - mean);
        }
        double scale = n > 1 ? 1 / Math.sqrt(var / (n - 1) + 1e-8) : 1;
        for (int i = 0; i < n; i++) {
            values[i] = (values[i] - mean) * scale;
        }
    }

    /** The clipped surrogate of one token: {@code −min(ρA, clip(ρ, 1−ε, 1+ε)·A)}, ρ = exp(log π_new − log π_old). */
    public static double clippedSurrogate(double ratio, double advantage, double epsilon) {
        double clipped = Math.max(1 - epsilon, Math.min(1 + epsilon, ratio));
        return -Math.min(ratio * advantage, clipped * advantage);
    }

    /** Whether the surrogate of this token is clipped (its gradient is zero): the "clip fraction" metric counts these. */
    public static boolean isClipped(double ratio, double advantage, double epsilon) {
        return advantage > 0 ? ratio > 1 + epsilon : advantage < 0 && ratio < 1 - epsilon;
    }

    /** The clipped value loss of one token: {@code ½·max((V − R)², (clip(V, V_old ± c) − R)²)}. */
    public static double clippedValueLoss(double value, double oldValue, double ret, double clip) {
        double clipped = Math.max(oldValue - clip, Math.min(oldValue + clip, value));
        return 0.5 * Math.max((value - ret) * (value - ret), (clipped - ret) * (clipped - ret));
    }
}
