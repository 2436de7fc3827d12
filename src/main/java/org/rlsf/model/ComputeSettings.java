package org.rlsf.model;

import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J's native thread count. Each Spark worker runs its own model, and the matrices here are
 * small: on 2 cores, one math thread per worker measured about twice as fast as two (less OpenMP
 * and BLAS synchronisation per tiny op). 0 leaves ND4J's default.
 */
public final class ComputeSettings {
    private ComputeSettings() {
    }

    public static void applyThreads(int threads) {
        if (threads > 0) {
            Nd4j.getEnvironment().setMaxThreads(threads);
            Nd4j.getEnvironment().setMaxMasterThreads(threads);
            Nd4j.factory().blas().setMaxThreads(threads);
        }
    }
}
