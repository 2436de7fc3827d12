package org.rlsf.ppo;

import org.rlsf.config.PpoConfig;

import java.util.List;

/**
 * A round's advantages and returns (method.md §6.2): per rollout the KL-penalised per-token rewards with the score at
 * the last token, GAE over the rollout's values (terminal value 0: a response ends at EOS or at the token limit), then
 * the advantages of all the round's tokens whitened together. Returns are GAE's (advantage + value, before whitening).
 */
public record Advantages(double[][] advantages, double[][] returns) {

    public static Advantages of(List<Rollout> rollouts, PpoConfig cfg) {
        int n = rollouts.size();
        double[][] adv = new double[n][], ret = new double[n][];
        int tokens = 0;
        for (int i = 0; i < n; i++) {
            Rollout r = rollouts.get(i);
            double[] lp = new double[r.response().length], ref = new double[lp.length], v = new double[lp.length];
            for (int t = 0; t < lp.length; t++) {
                lp[t] = r.logProbs()[t];
                ref[t] = r.refLogProbs()[t];
                v[t] = r.values()[t];
            }
            PpoMath.Gae g = PpoMath.gae(PpoMath.klRewards(lp, ref, r.score(), cfg.klCoef()), v, 0, cfg.gamma(), cfg.lambda());
            adv[i] = g.advantages();
            ret[i] = g.returns();
            tokens += lp.length;
        }
        double[] flat = new double[tokens];
        for (int i = 0, k = 0; i < n; i++) {
            System.arraycopy(adv[i], 0, flat, k, adv[i].length);
            k += adv[i].length;
        }
        PpoMath.whiten(flat);
        for (int i = 0, k = 0; i < n; i++) {
            System.arraycopy(flat, k, adv[i], 0, adv[i].length);
            k += adv[i].length;
        }
        return new Advantages(adv, ret);
    }
}
