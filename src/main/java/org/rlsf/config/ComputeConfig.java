package org.rlsf.config;

import com.typesafe.config.Config;

/**
 * How this JVM computes: native threads, training kernels, decoding steps. Travels as a value (executors get the
 * kernels inside the graph configuration and the decoding steps with their task's settings).
 *
 * @param threads  ND4J native (OpenMP/BLAS) threads per JVM; 0 = ND4J's default (all cores)
 * @param kernels  transformer-block kernels for training
 * @param decoding how one-token decoding steps run
 * @param blasKernels OpenBLAS's kernel set for the executors ({@link BlasKernels}): auto, inherit or a core name
 * @param blasLibrary which OpenBLAS library our products call ({@link BlasLibrary}): the host's or ND4J's bundled one
 */
public record ComputeConfig(int threads, Kernels kernels, DecodingSteps decoding, String blasKernels,
                            BlasLibrary blasLibrary) {
    /** Training kernels: hand-written ND4J forward/backward, or DL4J's SameDiff execution (the reference). */
    public enum Kernels {
        EAGER, SAMEDIFF;

        public String configName() {
            return Require.configName(this);
        }
    }

    /** Decoding steps: AUTO = Java arrays on ND4J's CPU backend in float32, ND4J ops otherwise. */
    public enum DecodingSteps {
        AUTO, HEAP, ND4J;

        public String configName() {
            return Require.configName(this);
        }
    }

    public ComputeConfig {
        Require.that(threads >= 0, "compute.threads", ">= 0", threads);
        Require.that(kernels != null, "compute.kernels", "set", null);
        Require.that(decoding != null, "compute.decoding", "set", null);
        Require.that(blasKernels != null, "compute.blas-kernels", "set", null);
        blasKernels = BlasKernels.validate(blasKernels);
        Require.that(blasLibrary != null, "compute.blas-library", "set", null);
    }

    /**
     * The defaults: one native thread, eager kernels, automatic decoding steps, the CPU's best BLAS kernels, ND4J's
     * bundled OpenBLAS.
     */
    public static ComputeConfig defaults() {
        return new ComputeConfig(1, Kernels.EAGER, DecodingSteps.AUTO, BlasKernels.AUTO, BlasLibrary.BUNDLED);
    }

    public boolean sameDiffKernels() {
        return kernels == Kernels.SAMEDIFF;
    }

    static ComputeConfig fromConfig(Config c) {
        return new ComputeConfig(c.getInt("threads"), Require.choice("compute.kernels", c.getString("kernels"), Kernels.class),
                Require.choice("compute.decoding", c.getString("decoding"), DecodingSteps.class), c.getString("blas-kernels"),
                BlasLibrary.parse(c.getString("blas-library")));
    }
}
