package org.rlsf.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link VectorMath}'s loops on the Vector API. Loaded only when {@link VectorMath#SIMD} (the module present): every
 * reference to {@code jdk.incubator.vector} lives here. Each loop runs whole vectors and finishes the tail with
 * {@link FloatMath#exp}, the same function.
 */
final class SimdMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final float LOG2_E = 1.44269504f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f, ROUND = 12582912f;
    private static final int ROUND_BITS = 0x4B400000;
    /** Vectors summed per lane in float before the sum joins a double total (a vocabulary row is ~10^5 values). */
    private static final int BLOCK = 64;

    private SimdMath() {
    }

    static int lanes() {
        return S.length();
    }

    /**
     * Runs every loop until HotSpot's C2 compiles it: before that the Vector API runs interpreted, about 100 times
     * slower than the scalar loops (measured ~0.35 s over the first few thousand calls), which would land in a short
     * stage's first steps or a benchmark's timed section.
     */
    static void warmUp() {
        float[] a = new float[3 * S.length() + 5], b = new float[a.length], c = new float[a.length];
        double sink = 0;
        for (int it = 0; it < 12_000; it++) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (i % 11 - 5) * 0.25f;
                b[i] = (i % 7) * 0.5f;
            }
            sink += max(a, 0, a.length) + sum(a, a.length) + dot(a, 0, b, 0, a.length) + squaredDeviations(a, a.length, 0.5f);
            sigmoid(a, b, a.length);
            sink += expShifted(a, 0, a.length, 1f) + b[it % b.length];
            weightedRows(a, 3, b, 0, S.length() + 1, 0.5f, c, 0);
            queryKeys(a, 1, 0.5f, b, 0, S.length(), 3, a, 2 * S.length(), c, S.length() - 1);
            sink += c[it % c.length];
        }
        if (Double.isNaN(sink)) {
            throw new AssertionError("warm-up: NaN");
        }
    }

    /** e^x on every lane, x clamped to [−87, 88] (2^k then has a float exponent of its own). */
    private static FloatVector exp(FloatVector x) {
        x = x.max(-87f).min(88f);
        FloatVector t = x.mul(LOG2_E).add(ROUND);          // k in the low mantissa bits
        FloatVector k = t.sub(ROUND);
        FloatVector r = x.sub(k.mul(LN2_HI)).sub(k.mul(LN2_LO));
        FloatVector p = FloatVector.broadcast(S, 1f / 5040f);
        p = p.mul(r).add(1f / 720f);
        p = p.mul(r).add(1f / 120f);
        p = p.mul(r).add(1f / 24f);
        p = p.mul(r).add(1f / 6f);
        p = p.mul(r).add(0.5f);
        p = p.mul(r).add(1f);
        p = p.mul(r).add(1f);
        IntVector scale = t.reinterpretAsInts().sub(ROUND_BITS - 127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(scale.reinterpretAsFloats());
    }

    static double expShifted(float[] a, int from, int to, float shift) {
        int i = from, bound = from + S.loopBound(to - from);
        double sum = 0;
        while (i < bound) {   // per-lane float sums of at most BLOCK vectors, then into the double total
            int blockEnd = Math.min(bound, i + BLOCK * S.length());
            FloatVector lanes = FloatVector.zero(S);
            for (; i < blockEnd; i += S.length()) {
                FloatVector e = exp(FloatVector.fromArray(S, a, i).sub(shift));
                e.intoArray(a, i);
                lanes = lanes.add(e);
            }
            sum += lanes.reduceLanes(VectorOperators.ADD);
        }
        for (; i < to; i++) {
            float e = FloatMath.exp(a[i] - shift);
            a[i] = e;
            sum += e;
        }
        return sum;
    }

    static void sigmoid(float[] z, float[] out, int n) {
        int i = 0, bound = S.loopBound(n);
        for (; i < bound; i += S.length()) {
            FloatVector e = exp(FloatVector.fromArray(S, z, i).neg());
            FloatVector.broadcast(S, 1f).div(e.add(1f)).intoArray(out, i);
        }
        for (; i < n; i++) {
            out[i] = 1f / (1f + FloatMath.exp(-z[i]));
        }
    }

    static float max(float[] a, int from, int to) {
        int i = from, bound = from + S.loopBound(to - from);
        float m = a[from];
        if (bound > from) {
            FloatVector v = FloatVector.fromArray(S, a, i);
            for (i += S.length(); i < bound; i += S.length()) {
                v = v.max(FloatVector.fromArray(S, a, i));
            }
            m = v.reduceLanes(VectorOperators.MAX);
        }
        for (; i < to; i++) {
            m = a[i] > m ? a[i] : m;
        }
        return m;
    }

    static double sum(float[] a, int n) {
        int i = 0, bound = S.loopBound(n);
        FloatVector acc = FloatVector.zero(S);
        for (; i < bound; i += S.length()) {
            acc = acc.add(FloatVector.fromArray(S, a, i));
        }
        double s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[i];
        }
        return s;
    }

    static double dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0, bound = S.loopBound(n);
        FloatVector acc = FloatVector.zero(S);
        for (; i < bound; i += S.length()) {
            acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
        }
        double s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += (double) a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    static double squaredDeviations(float[] a, int n, float mean) {
        int i = 0, bound = S.loopBound(n);
        FloatVector acc = FloatVector.zero(S);
        for (; i < bound; i += S.length()) {
            FloatVector c = FloatVector.fromArray(S, a, i).sub(mean);
            acc = c.fma(c, acc);
        }
        double s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            double c = a[i] - mean;
            s += c * c;
        }
        return s;
    }

    static void weightedRows(float[] p, int n, float[] rows, int base, int width, float scale, float[] out, int o) {
        int lanes = S.length(), c = 0;
        for (; c + lanes <= width; c += lanes) {   // one register of columns at a time, two running sums (even, odd t)
            FloatVector even = FloatVector.zero(S), odd = FloatVector.zero(S);
            int t = 0, r = base + c;
            for (; t + 1 < n; t += 2, r += 2 * width) {
                even = FloatVector.fromArray(S, rows, r).fma(FloatVector.broadcast(S, p[t]), even);
                odd = FloatVector.fromArray(S, rows, r + width).fma(FloatVector.broadcast(S, p[t + 1]), odd);
            }
            if (t < n) {
                even = FloatVector.fromArray(S, rows, r).fma(FloatVector.broadcast(S, p[t]), even);
            }
            even.add(odd).mul(scale).intoArray(out, o + c);
        }
        if (c < width) {
            VectorMath.scalarWeightedRows(p, n, rows, base, width, c, scale, out, o);
        }
    }

    static void queryKeys(float[] q, int qOff, float scale, float[] keysT, int kOff, int stride, int dh,
                          float[] bias, int biasOff, float[] sc, int n) {
        int lanes = S.length();
        for (int t = 0; t < n; t += lanes) {   // one register of positions at a time, over every key row: no reduction
            FloatVector even = FloatVector.fromArray(S, bias, biasOff + t), odd = FloatVector.zero(S);
            int i = 0, r = kOff + t;
            for (; i + 1 < dh; i += 2, r += 2 * stride) {
                even = FloatVector.fromArray(S, keysT, r).fma(FloatVector.broadcast(S, q[qOff + i] * scale), even);
                odd = FloatVector.fromArray(S, keysT, r + stride).fma(FloatVector.broadcast(S, q[qOff + i + 1] * scale), odd);
            }
            if (i < dh) {
                even = FloatVector.fromArray(S, keysT, r).fma(FloatVector.broadcast(S, q[qOff + i] * scale), even);
            }
            even.add(odd).intoArray(sc, t);
        }
    }
}
