package org.rlsf.model;

import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J's native thread count. Each Spark worker runs its own model, and the matrices here are
 * small: on 2 cores, one math thread per worker measured about twice as fast as two (less OpenMP
 * and BLAS synchronisation per tiny op). 0 leaves ND4J's default.
 */
public final class ComputeSettings {
    private static volatile boolean sameDiffKernels;
    private static volatile KvCacheDecoder.Attention decoding;

    private ComputeSettings() {
    }

    /**
     * compute.kernels: "eager" (default) or "samediff". Read on the driver, where graphs are configured; executors
     * get the choice inside the graph configuration.
     */
    public static void applyKernels(String kernels) {
        sameDiffKernels = switch (kernels) {
            case "eager" -> false;
            case "samediff" -> true;
            default -> throw new IllegalArgumentException("compute.kernels must be \"eager\" or \"samediff\", was \""
                    + kernels + "\"");
        };
    }

    /**
     * compute.decoding: "auto" (null: {@link KvCacheDecoder.Attention#auto}), "heap" or "nd4j". Read on the driver;
     * executors get it with their task's settings.
     */
    public static void applyDecoding(String value) {
        decoding = switch (value) {
            case "auto" -> null;
            case "heap" -> KvCacheDecoder.Attention.HEAP;
            case "nd4j" -> KvCacheDecoder.Attention.ND4J;
            default -> throw new IllegalArgumentException("compute.decoding must be \"auto\", \"heap\" or \"nd4j\", was \""
                    + value + "\"");
        };
    }

    /** The configured decoding steps, or null for the backend's default. */
    public static KvCacheDecoder.Attention decoding() {
        return decoding;
    }

    /** Whether new training graphs run their blocks through SameDiff (the reference kernels). */
    public static boolean sameDiffKernels() {
        return sameDiffKernels;
    }

    public static void applyThreads(int threads) {
        if (threads > 0) {
            Nd4j.getEnvironment().setMaxThreads(threads);
            Nd4j.getEnvironment().setMaxMasterThreads(threads);
            Nd4j.factory().blas().setMaxThreads(threads);
        }
    }
}
