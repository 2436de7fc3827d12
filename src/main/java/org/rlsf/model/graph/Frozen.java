package org.rlsf.model.graph;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ISchedule;

import java.util.Map;

/**
 * The updater of a frozen parameter: no state, and the update is zero. DL4J's {@code NoOp} is not that: it passes
 * the gradient through unchanged, so the parameter still moves by it (DL4J's own frozen layers drop the gradient
 * instead). Frozen parameters must also carry no regularisation, which DL4J applies apart from the updater.
 */
public final class Frozen implements IUpdater {
    @Override
    public long stateSize(long numParams) {
        return 0;
    }

    @Override
    public GradientUpdater instantiate(INDArray viewArray, boolean initializeViewArray) {
        return new Updater(this);
    }

    @Override
    public GradientUpdater instantiate(Map<String, INDArray> updaterState, boolean initializeStateArrays) {
        return new Updater(this);
    }

    @Override
    public IUpdater clone() {
        return new Frozen();
    }

    @Override
    public double getLearningRate(int iteration, int epoch) {
        return 0;
    }

    @Override
    public boolean hasLearningRate() {
        return false;
    }

    @Override
    public void setLrAndSchedule(double lr, ISchedule lrSchedule) {
        throw new UnsupportedOperationException("a frozen parameter has no learning rate");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Frozen;
    }

    @Override
    public int hashCode() {
        return Frozen.class.hashCode();
    }

    @Override
    public String toString() {
        return "Frozen()";
    }

    /** Zeroes the gradient, which DL4J then subtracts from the parameter. */
    static final class Updater implements GradientUpdater<Frozen> {
        private final Frozen config;

        Updater(Frozen config) {
            this.config = config;
        }

        @Override
        public Frozen getConfig() {
            return config;
        }

        @Override
        public void setState(Map<String, INDArray> stateMap, boolean initialize) {
        }

        @Override
        public Map<String, INDArray> getState() {
            return Map.of();
        }

        @Override
        public void setStateViewArray(INDArray viewArray, long[] gradientShape, char gradientOrder, boolean initialize) {
        }

        @Override
        public void applyUpdater(INDArray gradient, int iteration, int epoch) {
            gradient.assign(0);
        }
    }
}
