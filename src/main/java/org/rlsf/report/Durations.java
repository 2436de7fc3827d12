package org.rlsf.report;

/** Human-readable durations for progress lines and reports. */
public final class Durations {
    private Durations() {
    }

    /** {@code 42s}, {@code 3m07s}, {@code 1h02m}; a negative or non-finite duration is {@code ?}. */
    public static String format(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) {
            return "?";
        }
        long s = Math.round(seconds);
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format("%dm%02ds", s / 60, s % 60);
        }
        return String.format("%dh%02dm", s / 3600, (s % 3600) / 60);
    }
}
