package org.rlsf.evaluate;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Area under the ROC curve of a score against a binary label, as a mergeable accumulator (keeps the
 * scores: exact, ties counted one half, i.e. the Mann–Whitney statistic).
 */
public final class Auroc implements Serializable {
    private double[] positives = new double[16];
    private double[] negatives = new double[16];
    private int nPos;
    private int nNeg;

    public void add(double score, boolean positive) {
        if (Double.isNaN(score)) {
            throw new IllegalArgumentException("score is NaN");
        }
        if (positive) {
            if (nPos == positives.length) {
                positives = Arrays.copyOf(positives, nPos * 2);
            }
            positives[nPos++] = score;
        } else {
            if (nNeg == negatives.length) {
                negatives = Arrays.copyOf(negatives, nNeg * 2);
            }
            negatives[nNeg++] = score;
        }
    }

    public Auroc merge(Auroc other) {
        for (int i = 0; i < other.nPos; i++) {
            add(other.positives[i], true);
        }
        for (int i = 0; i < other.nNeg; i++) {
            add(other.negatives[i], false);
        }
        return this;
    }

    public int positives() {
        return nPos;
    }

    public int negatives() {
        return nNeg;
    }

    /** P(score of a positive > score of a negative) + ½ P(tie); NaN when either class is empty. */
    public double value() {
        if (nPos == 0 || nNeg == 0) {
            return Double.NaN;
        }
        double[] pos = Arrays.copyOf(positives, nPos);
        double[] neg = Arrays.copyOf(negatives, nNeg);
        Arrays.sort(pos);
        Arrays.sort(neg);
        double wins = 0;
        int lo = 0, hi = 0;   // neg[0..lo) < p, neg[0..hi) <= p
        for (double p : pos) {
            while (lo < nNeg && neg[lo] < p) {
                lo++;
            }
            while (hi < nNeg && neg[hi] <= p) {
                hi++;
            }
            wins += lo + 0.5 * (hi - lo);
        }
        return wins / ((double) nPos * nNeg);
    }
}
