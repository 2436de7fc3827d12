package org.rlsf.train;

/** The preference losses and implicit rewards in plain Java (method.md §1.6), for metrics and tests. */
public final class DpoLoss {
    private DpoLoss() {
    }

    /** h = [log π(y_w) − log π_ref(y_w)] − [log π(y_l) − log π_ref(y_l)]. */
    public static double h(double policyChosen, double policyRejected, double refChosen, double refRejected) {
        return (policyChosen - refChosen) - (policyRejected - refRejected);
    }

    /** −(1−ε)·log σ(βh) − ε·log σ(−βh). */
    public static double dpo(double h, double beta, double epsilon) {
        return (1 - epsilon) * softplus(-beta * h) + epsilon * softplus(beta * h);
    }

    /** dL/dh of {@link #dpo}. */
    public static double dpoGradient(double h, double beta, double epsilon) {
        return -(1 - epsilon) * beta * sigmoid(-beta * h) + epsilon * beta * sigmoid(beta * h);
    }

    /** IPO: (h − 1/(2β))². */
    public static double ipo(double h, double beta) {
        double d = h - 1 / (2 * beta);
        return d * d;
    }

    /** Implicit reward β(log π − log π_ref). */
    public static double reward(double policy, double ref, double beta) {
        return beta * (policy - ref);
    }

    /** Bradley–Terry with a margin (method.md §6.1): −log σ(r_c − r_r − m). */
    public static double bradleyTerry(double rewardChosen, double rewardRejected, double margin) {
        return softplus(-(rewardChosen - rewardRejected - margin));
    }

    static double softplus(double x) {
        return x > 30 ? x : x < -30 ? Math.exp(x) : Math.log1p(Math.exp(x));
    }

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }
}
