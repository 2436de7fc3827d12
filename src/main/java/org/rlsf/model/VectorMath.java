package org.rlsf.model;

import org.slf4j.LoggerFactory;

/**
 * Float loops over Java arrays for the kernels' exponentials: on the JDK's Vector API (module
 * {@code jdk.incubator.vector}, one AVX-512 or AVX2 register of lanes at a time) when the JVM was started with
 * {@code --add-modules=jdk.incubator.vector}, else one element at a time with {@link FloatMath#exp}. Both compute the
 * same function (Cody–Waite reduction and a degree-7 polynomial) within 1e-7 relative; measured 0.45 against 3.5 ns
 * an element (AMD EPYC Zen 4, JDK 17). {@code jobs/rlsf}, the tests and the cluster configurations add the module;
 * a JVM without it runs the scalar loops, correct and slower.
 */
public final class VectorMath {
    /** Whether the Vector API loops run (the module is in the boot layer and {@code -Drlsf.simd=false} is not set). */
    public static final boolean SIMD = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !"false".equals(System.getProperty("rlsf.simd"));

    static {
        LoggerFactory.getLogger(VectorMath.class).info("element-wise kernels: {}", describe());
        if (SIMD) {   // on a thread of its own: callers never wait, and always take the same (vector) loops
            Thread warmUp = new Thread(() -> {
                long start = System.nanoTime();
                SimdMath.warmUp();
                LoggerFactory.getLogger(VectorMath.class).debug("vector loops warmed up in {} ms", (System.nanoTime() - start) / 1_000_000);
            }, "rlsf-vector-warm-up");
            warmUp.setDaemon(true);
            warmUp.start();
        }
    }

    private VectorMath() {
    }

    /** Which loops run, for the logs and the benchmark's header: "vector API, N float lanes" or "scalar". */
    public static String describe() {
        return SIMD ? "vector API, " + SimdMath.lanes() + " float lanes" : "scalar (start the JVM with --add-modules=jdk.incubator.vector)";
    }

    /** a[i] = e^(a[i] − shift) for i in [from, to), x − shift ≤ 88; returns Σ of the new values (in double). */
    public static double expShifted(float[] a, int from, int to, float shift) {
        return SIMD ? SimdMath.expShifted(a, from, to, shift) : scalarExpShifted(a, from, to, shift);
    }

    static double scalarExpShifted(float[] a, int from, int to, float shift) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            float e = FloatMath.exp(a[i] - shift);
            a[i] = e;
            sum += e;
        }
        return sum;
    }

    /** out[i] = σ(z[i]) = 1 / (1 + e^−z[i]) for i in [0, n) ({@code out} may be {@code z}). */
    public static void sigmoid(float[] z, float[] out, int n) {
        if (SIMD) {
            SimdMath.sigmoid(z, out, n);
        } else {
            scalarSigmoid(z, out, n);
        }
    }

    static void scalarSigmoid(float[] z, float[] out, int n) {
        for (int i = 0; i < n; i++) {
            out[i] = 1f / (1f + FloatMath.exp(-z[i]));
        }
    }

    /** max of a[from, to) (to > from); NaN-free input assumed (the kernels' scores and logits). */
    public static float max(float[] a, int from, int to) {
        return SIMD ? SimdMath.max(a, from, to) : scalarMax(a, from, to);
    }

    static float scalarMax(float[] a, int from, int to) {
        float m = a[from];
        for (int i = from + 1; i < to; i++) {
            m = a[i] > m ? a[i] : m;
        }
        return m;
    }

    /** Σ a[0, n). */
    public static double sum(float[] a, int n) {
        if (SIMD) {
            return SimdMath.sum(a, n);
        }
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += a[i];
        }
        return s;
    }

    /** Σ a[i]·b[i] over [0, n). */
    public static double dot(float[] a, float[] b, int n) {
        if (SIMD) {
            return SimdMath.dot(a, b, n);
        }
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    /** Σ (a[i] − mean)² over [0, n). */
    public static double squaredDeviations(float[] a, int n, float mean) {
        if (SIMD) {
            return SimdMath.squaredDeviations(a, n, mean);
        }
        double s = 0;
        for (int i = 0; i < n; i++) {
            double c = a[i] - mean;
            s += c * c;
        }
        return s;
    }
}
