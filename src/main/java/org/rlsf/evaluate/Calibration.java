package org.rlsf.evaluate;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Binned calibration of confidences against correctness, as a mergeable accumulator: per bin the
 * count, the sum of confidences and the number correct. Two bin conventions:
 * <ul>
 *   <li>{@link #upperClosed(int)}: equal-width bins (lower, upper], the paper's ECE (a confidence ≤ 0
 *       counts in the lowest bin; the paper's code drops it, we do not);</li>
 *   <li>{@link #lowerClosed(int)}: bins [lower, upper) with 1.0 in the top bin, torchmetrics'
 *       binary calibration error.</li>
 * </ul>
 */
public final class Calibration implements Serializable {
    private final int bins;
    private final boolean upperClosed;
    private final long[] count;
    private final double[] confSum;
    private final long[] correct;

    private Calibration(int bins, boolean upperClosed) {
        if (bins < 1) {
            throw new IllegalArgumentException("bins must be >= 1, was " + bins);
        }
        this.bins = bins;
        this.upperClosed = upperClosed;
        this.count = new long[bins];
        this.confSum = new double[bins];
        this.correct = new long[bins];
    }

    public static Calibration upperClosed(int bins) {
        return new Calibration(bins, true);
    }

    public static Calibration lowerClosed(int bins) {
        return new Calibration(bins, false);
    }

    /** The bin of a confidence, computed in decimal-safe steps (0.3 with 10 bins is in (0.2, 0.3]). */
    int binOf(double c) {
        double scaled = c * bins;
        double r = Math.rint(scaled);
        boolean onEdge = Math.abs(scaled - r) < 1e-9;
        int b;
        if (upperClosed) {
            b = onEdge ? (int) r - 1 : (int) Math.ceil(scaled) - 1;
        } else {
            b = onEdge ? (int) r : (int) Math.floor(scaled);
        }
        return Math.max(0, Math.min(bins - 1, b));
    }

    public void add(double confidence, boolean isCorrect) {
        if (!Double.isFinite(confidence)) {
            throw new IllegalArgumentException("confidence must be finite, was " + confidence);
        }
        int b = binOf(confidence);
        count[b]++;
        confSum[b] += confidence;
        correct[b] += isCorrect ? 1 : 0;
    }

    public Calibration merge(Calibration other) {
        if (other.bins != bins || other.upperClosed != upperClosed) {
            throw new IllegalArgumentException("cannot merge calibrations with different binning");
        }
        for (int b = 0; b < bins; b++) {
            count[b] += other.count[b];
            confSum[b] += other.confSum[b];
            correct[b] += other.correct[b];
        }
        return this;
    }

    public long total() {
        long n = 0;
        for (long c : count) {
            n += c;
        }
        return n;
    }

    /** Expected calibration error (L1, count-weighted), as a fraction; NaN when empty. */
    public double ece() {
        return norm(1);
    }

    /** Root of the count-weighted mean squared gap (torchmetrics' "l2"). */
    public double l2() {
        return Math.sqrt(norm(2));
    }

    /** Largest gap over non-empty bins (torchmetrics' "max"). */
    public double maxGap() {
        double m = total() == 0 ? Double.NaN : 0;
        for (int b = 0; b < bins; b++) {
            if (count[b] > 0) {
                m = Math.max(m, gap(b));
            }
        }
        return m;
    }

    private double norm(int p) {
        long n = total();
        if (n == 0) {
            return Double.NaN;
        }
        double s = 0;
        for (int b = 0; b < bins; b++) {
            if (count[b] > 0) {
                s += count[b] * Math.pow(gap(b), p);
            }
        }
        return s / n;
    }

    private double gap(int b) {
        return Math.abs(confSum[b] / count[b] - correct[b] / (double) count[b]);
    }

    /** One reliability-diagram bar. */
    public record Bin(double lower, double upper, long count, double meanConfidence, double accuracy) {
    }

    /** Every bin (empty bins have NaN mean confidence and accuracy). */
    public List<Bin> bins() {
        List<Bin> out = new ArrayList<>();
        for (int b = 0; b < bins; b++) {
            out.add(new Bin(b / (double) bins, (b + 1) / (double) bins, count[b],
                    count[b] == 0 ? Double.NaN : confSum[b] / count[b],
                    count[b] == 0 ? Double.NaN : correct[b] / (double) count[b]));
        }
        return out;
    }

    public String convention() {
        return upperClosed ? "(lower, upper]" : "[lower, upper)";
    }
}
