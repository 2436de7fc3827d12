package org.rlsf.evaluate;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** method.md §3 and torchmetrics vectors; merge == sequential add. */
class EvalMetricsTest {

    private static Calibration paper(double[] conf, boolean[] ok) {
        Calibration c = Calibration.upperClosed(10);
        for (int i = 0; i < conf.length; i++) {
            c.add(conf[i], ok[i]);
        }
        return c;
    }

    @Test
    void paperEceVectors() {
        assertEquals(35.75, 100 * paper(new double[]{0.95, 0.85, 0.62, 0.15}, new boolean[]{true, false, true, false}).ece(), 1e-9);
        assertEquals(45.0, 100 * paper(new double[]{0.91, 0.99}, new boolean[]{true, false}).ece(), 1e-9);
    }

    @Test
    void brierVector() {
        EvalMetrics m = new EvalMetrics();
        double[] conf = {0.95, 0.85, 0.62, 0.15};
        boolean[] ok = {true, false, true, false};
        for (int i = 0; i < 4; i++) {
            m.add(result(conf[i], ok[i], new double[]{conf[i]}, new boolean[]{ok[i]}));
        }
        assertEquals(0.222975, m.brier(), 1e-9);
        assertEquals(35.75, m.ece10x100(), 1e-9);
        assertEquals(0.5, m.accuracy(), 0);
    }

    @Test
    void torchmetricsBinaryCalibrationErrorVector() {
        Calibration c = Calibration.lowerClosed(2);
        double[] preds = {0.25, 0.25, 0.55, 0.75, 0.75};
        boolean[] target = {false, false, true, true, true};
        for (int i = 0; i < preds.length; i++) {
            c.add(preds[i], target[i]);
        }
        assertEquals(0.2900, c.ece(), 1e-4);
        assertEquals(0.2918, c.l2(), 1e-4);
        assertEquals(0.3167, c.maxGap(), 1e-4);
    }

    @Test
    void binEdgesFollowEachConvention() {
        Calibration paper = Calibration.upperClosed(10);
        assertEquals(2, paper.binOf(0.3), "0.3 is in (0.2, 0.3]");
        assertEquals(0, paper.binOf(0.0), "0 counts in the lowest bin (the paper's code drops it)");
        assertEquals(0, paper.binOf(-0.4), "a negative margin counts in the lowest bin");
        assertEquals(9, paper.binOf(1.0));
        Calibration tm = Calibration.lowerClosed(15);
        assertEquals(3, tm.binOf(0.2), "0.2 is in [0.2, 0.2667)");
        assertEquals(14, tm.binOf(1.0), "1.0 is in the top bin");
        assertEquals(0, tm.binOf(0.0));
    }

    @Test
    void aurocCountsTiesAsHalf() {
        Auroc a = new Auroc();
        double[] s = {0.1, 0.4, 0.35, 0.8};
        boolean[] y = {false, false, true, true};
        for (int i = 0; i < 4; i++) {
            a.add(s[i], y[i]);
        }
        assertEquals(0.75, a.value(), 1e-12);   // sklearn's roc_auc_score example
        Auroc ties = new Auroc();
        ties.add(0.5, true);
        ties.add(0.5, false);
        ties.add(0.9, true);
        assertEquals(0.75, ties.value(), 1e-12);
        assertTrue(Double.isNaN(new Auroc().value()));
    }

    @Test
    void mergingPartialsInAnyOrderEqualsAddingSequentially() {
        Random rng = new Random(3);
        List<ProblemResult> rs = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            int k = 1 + rng.nextInt(4);
            double[] bc = new double[k];
            boolean[] bo = new boolean[k];
            for (int j = 0; j < k; j++) {
                bc[j] = rng.nextDouble() * 1.2 - 0.1;
                bo[j] = rng.nextDouble() < bc[j];
            }
            rs.add(result(bc[0], bo[0], bc, bo));
        }
        EvalMetrics seq = new EvalMetrics();
        rs.forEach(seq::add);
        EvalMetrics a = new EvalMetrics(), b = new EvalMetrics(), c = new EvalMetrics();
        for (int i = 0; i < rs.size(); i++) {
            (i % 3 == 0 ? a : i % 3 == 1 ? b : c).add(rs.get(i));
        }
        EvalMetrics merged = new EvalMetrics().merge(c).merge(a).merge(b);
        assertEquals(seq.summary().keySet(), merged.summary().keySet());
        seq.summary().forEach((k, v) -> {
            Object w = merged.summary().get(k);
            if (v instanceof Double d) {
                assertEquals(d, (Double) w, 1e-12, k);   // float sums differ only in rounding
            } else {
                assertEquals(v, w, k);
            }
        });
        assertEquals(200, merged.problems());
    }

    @Test
    void branchStatisticsUseEveryBranchAndTheFirstCotPath() {
        EvalMetrics m = new EvalMetrics();
        // problem 1: direct branch wrong (0.3), CoT branch right (0.95) -> chosen = CoT
        m.add(new ProblemResult("p1", "arith", "5", "5", true, 0.95, true, 20, 1, new String[]{"4", "5"},
                new double[]{0.3, 0.95}, new boolean[]{false, true}, new boolean[]{false, true}, null));
        // problem 2: both wrong, no CoT branch
        m.add(new ProblemResult("p2", "arith", "7", "6", false, 0.6, false, 10, 0, new String[]{"6", "8"},
                new double[]{0.6, 0.2}, new boolean[]{false, false}, new boolean[]{false, false}, null));
        assertEquals(0.5, m.anyBranchCorrectShare(), 0);
        assertEquals(0.5, m.cotPathAccuracy(), 0);
        assertEquals(0.25, m.highConfidenceBranchShare(), 0);
        assertEquals(1.0, m.branchAuroc(), 0);
        assertEquals(0.5, m.cotStyleShare(), 0);
        assertEquals(15.0, m.tokensPerProblem(), 0);
    }

    @Test
    void rewardScoresGiveTheirOwnBranchAurocAndBestOfKAccuracy() {
        EvalMetrics m = new EvalMetrics();
        assertTrue(Double.isNaN(m.rewardAuroc()) && Double.isNaN(m.rewardChoiceAccuracy()), "nothing scored: NaN");
        // problem 1: the reward model prefers the right branch (1.5 > -0.2), the confidence does too
        m.add(result(0.9, true, new double[]{0.2, 0.9}, new boolean[]{false, true}).withBranchRewards(new double[]{-0.2, 1.5}));
        // problem 2: the reward model prefers the wrong branch (0.7 > 0.1)
        m.add(result(0.8, true, new double[]{0.8, 0.1}, new boolean[]{true, false}).withBranchRewards(new double[]{0.1, 0.7}));
        // a result no reward model scored counts in neither
        m.add(result(0.5, false, new double[]{0.5}, new boolean[]{false}));
        assertEquals(0.5, m.rewardChoiceAccuracy(), 0);
        // right branches score 1.5 and 0.1, wrong ones -0.2 and 0.7: 3 of 4 (right, wrong) pairs ordered
        assertEquals(0.75, m.rewardAuroc(), 1e-12);
        EvalMetrics a = new EvalMetrics(), b = new EvalMetrics();
        a.add(result(0.9, true, new double[]{0.2, 0.9}, new boolean[]{false, true}).withBranchRewards(new double[]{-0.2, 1.5}));
        b.add(result(0.8, true, new double[]{0.8, 0.1}, new boolean[]{true, false}).withBranchRewards(new double[]{0.1, 0.7}));
        assertEquals(m.rewardAuroc(), b.merge(a).rewardAuroc(), 1e-12);
        assertEquals(0.5, b.rewardChoiceAccuracy(), 0);
        assertEquals(0.75, m.summary().get("reward_branch_auroc"));
        assertThrows(IllegalArgumentException.class, () -> result(0.9, true, new double[]{0.2, 0.9},
                new boolean[]{false, true}).withBranchRewards(new double[]{1}), "one reward per branch");
    }

    static ProblemResult result(double conf, boolean ok, double[] bc, boolean[] bo) {
        String[] answers = new String[bc.length];
        java.util.Arrays.fill(answers, "1");
        return new ProblemResult("p", "arith", "1", "1", ok, conf, false, 7, 0, answers, bc, bo, new boolean[bc.length], null);
    }
}
