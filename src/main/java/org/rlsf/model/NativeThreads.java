package org.rlsf.model;

import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J's native (OpenMP/BLAS) thread count, a process-wide setting of the native library. Each Spark worker runs its
 * own model and the matrices here are small: on 2 cores, one math thread per worker measured about twice as fast as
 * two (less OpenMP and BLAS synchronisation per tiny op).
 */
public final class NativeThreads {
    private NativeThreads() {
    }

    /** Sets ND4J's native threads to {@code threads}; 0 leaves ND4J's default (all cores). */
    public static void apply(int threads) {
        if (threads > 0) {
            Nd4j.getEnvironment().setMaxThreads(threads);
            Nd4j.getEnvironment().setMaxMasterThreads(threads);
            Nd4j.factory().blas().setMaxThreads(threads);
        }
    }
}
