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
        return dot(a, 0, b, 0, n);
    }

    /** Σ a[aOff + i]·b[bOff + i] over i in [0, n). */
    public static double dot(float[] a, int aOff, float[] b, int bOff, int n) {
        if (SIMD) {
            return SimdMath.dot(a, aOff, b, bOff, n);
        }
        return scalarDot(a, aOff, b, bOff, n);
    }

    static double scalarDot(float[] a, int aOff, float[] b, int bOff, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += (double) a[aOff + i] * b[bOff + i];
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

    /**
     * out[o + i] = scale · Σ_t p[t] · rows[base + t·width + i] for i in [0, width), t in [0, n): a weighted sum of n
     * row-major rows (attention's probabilities times its value rows), {@code out} overwritten.
     */
    public static void weightedRows(float[] p, int n, float[] rows, int base, int width, float scale, float[] out, int o) {
        if (SIMD) {
            SimdMath.weightedRows(p, n, rows, base, width, scale, out, o);
        } else {
            scalarWeightedRows(p, n, rows, base, width, 0, scale, out, o);
        }
    }

    /** {@link #weightedRows} over columns [from, width). */
    static void scalarWeightedRows(float[] p, int n, float[] rows, int base, int width, int from, float scale, float[] out, int o) {
        int i = from;
        for (; i + 3 < width; i += 4) {   // four columns per pass, each its own running sum
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int t = 0, r = base + i; t < n; t++, r += width) {
                float w = p[t];
                s0 += w * rows[r];
                s1 += w * rows[r + 1];
                s2 += w * rows[r + 2];
                s3 += w * rows[r + 3];
            }
            out[o + i] = s0 * scale;
            out[o + i + 1] = s1 * scale;
            out[o + i + 2] = s2 * scale;
            out[o + i + 3] = s3 * scale;
        }
        for (; i < width; i++) {
            float s0 = 0;
            for (int t = 0, r = base + i; t < n; t++, r += width) {
                s0 += p[t] * rows[r];
            }
            out[o + i] = s0 * scale;
        }
    }

    /** {@code n} rounded up to whole vectors of this JVM's loops ({@code n} itself for the scalar ones). */
    public static int roundUpToLanes(int n) {
        int lanes = SIMD ? SimdMath.lanes() : 1;
        return (n + lanes - 1) / lanes * lanes;
    }

    /**
     * Attention scores of one query over transposed keys: {@code sc[t] = bias[biasOff + t] + Σ_i scale·q[qOff + i]·
     * keysT[kOff + i·stride + t]} for t in [0, n). May compute (and write) up to {@link #roundUpToLanes}(n): the key
     * rows, {@code bias} and {@code sc} must be that long.
     */
    public static void queryKeys(float[] q, int qOff, float scale, float[] keysT, int kOff, int stride, int dh,
                                 float[] bias, int biasOff, float[] sc, int n) {
        if (SIMD) {
            SimdMath.queryKeys(q, qOff, scale, keysT, kOff, stride, dh, bias, biasOff, sc, n);
        } else {
            scalarQueryKeys(q, qOff, scale, keysT, kOff, stride, dh, bias, biasOff, sc, n);
        }
    }

    static void scalarQueryKeys(float[] q, int qOff, float scale, float[] keysT, int kOff, int stride, int dh,
                                float[] bias, int biasOff, float[] sc, int n) {
        System.arraycopy(bias, biasOff, sc, 0, n);
        int i = 0;
        for (; i + 3 < dh; i += 4) {   // four key rows per pass over the scores
            float q0 = q[qOff + i] * scale, q1 = q[qOff + i + 1] * scale, q2 = q[qOff + i + 2] * scale, q3 = q[qOff + i + 3] * scale;
            int r0 = kOff + i * stride, r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
            for (int t = 0; t < n; t++) {
                sc[t] += q0 * keysT[r0 + t] + q1 * keysT[r1 + t] + q2 * keysT[r2 + t] + q3 * keysT[r3 + t];
            }
        }
        for (; i < dh; i++) {
            float qi = q[qOff + i] * scale;
            int r = kOff + i * stride;
            for (int t = 0; t < n; t++) {
                sc[t] += qi * keysT[r + t];
            }
        }
    }
}
