package org.rlsf.model.graph;

import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Learning-rate schedule by iteration: linear warm-up from peak/warmup to the peak over
 * {@code warmupSteps}, then linear decay to {@code peak·minFraction} at {@code totalSteps}, flat after.
 * (DL4J's own PolySchedule grows instead of decaying, and RampSchedule cannot be written to JSON,
 * which Spark needs to ship the configuration.)
 */
public final class WarmupLinearDecay implements ISchedule {
    private final double peak;
    private final int warmupSteps;
    private final int totalSteps;
    private final double minFraction;

    public WarmupLinearDecay(@JsonProperty("peak") double peak, @JsonProperty("warmupSteps") int warmupSteps,
                             @JsonProperty("totalSteps") int totalSteps,
                             @JsonProperty("minFraction") double minFraction) {
        this.peak = peak;
        this.warmupSteps = warmupSteps;
        this.totalSteps = Math.max(totalSteps, 1);
        this.minFraction = minFraction;
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        if (iteration < warmupSteps) {
            return peak * (iteration + 1) / warmupSteps;
        }
        int decaySteps = Math.max(totalSteps - warmupSteps, 1);
        double progress = Math.min(1.0, (iteration - warmupSteps) / (double) decaySteps);
        return peak * (1.0 - progress * (1.0 - minFraction));
    }

    @Override
    public ISchedule clone() {
        return new WarmupLinearDecay(peak, warmupSteps, totalSteps, minFraction);
    }

    public double getPeak() {
        return peak;
    }

    public int getWarmupSteps() {
        return warmupSteps;
    }

    public int getTotalSteps() {
        return totalSteps;
    }

    public double getMinFraction() {
        return minFraction;
    }
}
