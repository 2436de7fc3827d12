package org.rlsf.evaluate;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * All aggregates of an evaluation, as one mergeable accumulator (Spark aggregates it per partition
 * and merges the partials; merging in any order equals adding sequentially).
 */
public final class EvalMetrics implements Serializable {
    /** Branch confidences at or above this count as "confident" (the pairs' default threshold). */
    public static final double HIGH_CONFIDENCE = 0.9;

    private long problems;
    private long correct;
    private long errors;
    private long cotStyleKnown;
    private long cotStyle;
    private long generatedTokens;
    private double brierSum;
    private long anyBranchCorrect;
    private long cotPathCorrect;
    private long withCotPath;
    private long branches;
    private long highConfidenceBranches;
    private final Calibration ece10 = Calibration.upperClosed(10);
    private final Calibration ece15 = Calibration.lowerClosed(15);
    private final Auroc auroc = new Auroc();
    private final Auroc branchAuroc = new Auroc();
    private final Auroc rewardAuroc = new Auroc();
    private long rewardScoredProblems;
    private long rewardChoiceCorrect;

    public EvalMetrics add(ProblemResult r) {
        problems++;
        correct += r.correct() ? 1 : 0;
        errors += r.error() == null ? 0 : 1;
        if (r.cotStyle() != null) {
            cotStyleKnown++;
            cotStyle += r.cotStyle() ? 1 : 0;
        }
        generatedTokens += r.generatedTokens();
        double y = r.correct() ? 1 : 0;
        brierSum += (r.confidence() - y) * (r.confidence() - y);
        ece10.add(r.confidence(), r.correct());
        ece15.add(r.confidence(), r.correct());
        auroc.add(r.confidence(), r.correct());
        boolean any = false;
        int cotPath = -1;
        for (int i = 0; i < r.branchConfidences().length; i++) {
            branches++;
            highConfidenceBranches += r.branchConfidences()[i] >= HIGH_CONFIDENCE ? 1 : 0;
            branchAuroc.add(r.branchConfidences()[i], r.branchCorrect()[i]);
            any |= r.branchCorrect()[i];
            if (cotPath < 0 && r.branchCotStyle()[i]) {
                cotPath = i;
            }
        }
        anyBranchCorrect += any ? 1 : 0;
        double[] rewards = r.branchRewards();
        if (rewards.length > 0) {   // the reward model's view of the same branches: ranking and best-of-K by reward
            rewardScoredProblems++;
            int best = 0;
            for (int i = 0; i < rewards.length; i++) {
                rewardAuroc.add(rewards[i], r.branchCorrect()[i]);
                best = rewards[i] > rewards[best] ? i : best;
            }
            rewardChoiceCorrect += r.branchCorrect()[best] ? 1 : 0;
        }
        if (cotPath >= 0) {
            withCotPath++;
            cotPathCorrect += r.branchCorrect()[cotPath] ? 1 : 0;
        }
        return this;
    }

    public EvalMetrics merge(EvalMetrics o) {
        problems += o.problems;
        correct += o.correct;
        errors += o.errors;
        cotStyleKnown += o.cotStyleKnown;
        cotStyle += o.cotStyle;
        generatedTokens += o.generatedTokens;
        brierSum += o.brierSum;
        anyBranchCorrect += o.anyBranchCorrect;
        cotPathCorrect += o.cotPathCorrect;
        withCotPath += o.withCotPath;
        branches += o.branches;
        highConfidenceBranches += o.highConfidenceBranches;
        ece10.merge(o.ece10);
        ece15.merge(o.ece15);
        auroc.merge(o.auroc);
        branchAuroc.merge(o.branchAuroc);
        rewardAuroc.merge(o.rewardAuroc);
        rewardScoredProblems += o.rewardScoredProblems;
        rewardChoiceCorrect += o.rewardChoiceCorrect;
        return this;
    }

    public long problems() {
        return problems;
    }

    public double accuracy() {
        return ratio(correct, problems);
    }

    /** ECE, 10 equal-width bins (lower, upper], ×100 (the paper's convention). */
    public double ece10x100() {
        return 100 * ece10.ece();
    }

    /** ECE, 15 bins [lower, upper), as a fraction (torchmetrics' binary calibration error, L1). */
    public double ece15() {
        return ece15.ece();
    }

    public double brier() {
        return problems == 0 ? Double.NaN : brierSum / problems;
    }

    /** AUROC of the chosen output's confidence vs its correctness. */
    public double auroc() {
        return auroc.value();
    }

    /** AUROC of every branch's confidence vs that branch's correctness. */
    public double branchAuroc() {
        return branchAuroc.value();
    }

    /** AUROC of a reward model's score of every branch vs that branch's correctness; NaN when none scored. */
    public double rewardAuroc() {
        return rewardAuroc.value();
    }

    /** Accuracy when each problem's branch is chosen by the reward model's score (best-of-K); NaN when none scored. */
    public double rewardChoiceAccuracy() {
        return ratio(rewardChoiceCorrect, rewardScoredProblems);
    }

    public double cotStyleShare() {
        return cotStyleKnown == 0 ? Double.NaN : cotStyle / (double) cotStyleKnown;
    }

    public double tokensPerProblem() {
        return ratio(generatedTokens, problems);
    }

    public double anyBranchCorrectShare() {
        return ratio(anyBranchCorrect, problems);
    }

    /** Accuracy of the model's own chain-of-thought path (first CoT-style branch; none counts as wrong). */
    public double cotPathAccuracy() {
        return ratio(cotPathCorrect, problems);
    }

    public double cotPathShare() {
        return ratio(withCotPath, problems);
    }

    public double highConfidenceBranchShare() {
        return ratio(highConfidenceBranches, branches);
    }

    public List<Calibration.Bin> reliability() {
        return ece10.bins();
    }

    public List<Calibration.Bin> reliability15() {
        return ece15.bins();
    }

    /** The summary as an ordered map (JSON-ready; NaN becomes null). */
    public Map<String, Object> summary() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("problems", problems);
        m.put("accuracy", num(accuracy()));
        m.put("ece_10bin_x100", num(ece10x100()));
        m.put("ece_15bin", num(ece15()));
        m.put("ece_15bin_l2", num(ece15.l2()));
        m.put("ece_15bin_max", num(ece15.maxGap()));
        m.put("brier", num(brier()));
        m.put("auroc", num(auroc()));
        m.put("branch_auroc", num(branchAuroc()));
        m.put("cot_style_share", num(cotStyleShare()));
        m.put("cot_path_accuracy", num(cotPathAccuracy()));
        m.put("cot_path_share", num(cotPathShare()));
        m.put("any_branch_correct", num(anyBranchCorrectShare()));
        m.put("branches", branches);
        m.put("branch_confidence_ge_0_9", num(highConfidenceBranchShare()));
        m.put("generated_tokens_per_problem", num(tokensPerProblem()));
        m.put("error_problems", errors);
        m.put("reward_branch_auroc", num(rewardAuroc()));
        m.put("reward_best_of_k_accuracy", num(rewardChoiceAccuracy()));
        return m;
    }

    private static Double num(double x) {
        return Double.isFinite(x) ? x : null;
    }

    private static double ratio(long a, long b) {
        return b == 0 ? Double.NaN : a / (double) b;
    }
}
