package org.rlsf.model;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API loops (the tests' JVM has the module, as {@code jobs/rlsf}'s does) and the scalar loops a JVM without
 * it runs, each against double-precision references, at lengths that leave a tail after the last whole vector.
 */
class VectorMathTest {
    private static float[] values(int n, long seed, double lo, double hi) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return a;
    }

    @Test
    void theTestJvmRunsTheVectorApiLoops() {
        assertTrue(VectorMath.SIMD, "surefire's argLine adds --add-modules=jdk.incubator.vector: " + VectorMath.describe());
    }

    @Test
    void shiftedExponentialsAndTheirSumMatchMathExp() {
        for (int n : new int[]{1, 15, 16, 17, 95, 1000}) {
            float[] x = values(n, n, -40, 8);
            float shift = 3.5f;
            float[] simd = x.clone(), scalar = x.clone();
            double s1 = VectorMath.expShifted(simd, 0, n, shift), s2 = VectorMath.scalarExpShifted(scalar, 0, n, shift);
            double exactSum = 0;
            for (int i = 0; i < n; i++) {
                double exact = Math.exp(x[i] - shift);
                exactSum += exact;
                assertEquals(exact, simd[i], 2e-7 * exact, "n=" + n + " i=" + i);
                assertEquals(exact, scalar[i], 2e-7 * exact, "scalar n=" + n + " i=" + i);
            }
            assertEquals(exactSum, s1, 1e-6 * exactSum);
            assertEquals(exactSum, s2, 1e-6 * exactSum);
        }
        float[] part = {5f, 0f, 1f, 5f};
        VectorMath.expShifted(part, 1, 3, 0f);
        assertEquals(5f, part[0], "outside [from, to) untouched");
        assertEquals(5f, part[3]);
        assertEquals((float) Math.E, part[2], 1e-6f);
    }

    @Test
    void sigmoidAndMaxMatchTheirReferences() {
        for (int n : new int[]{3, 16, 33, 513}) {
            float[] z = values(n, 7 + n, -120, 120), simd = new float[n], scalar = new float[n];
            VectorMath.sigmoid(z, simd, n);
            VectorMath.scalarSigmoid(z, scalar, n);
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                double exact = 1 / (1 + Math.exp(-z[i]));
                assertEquals(exact, simd[i], 1e-7 + 2e-7 * exact, "z=" + z[i]);
                assertEquals(exact, scalar[i], 1e-7 + 2e-7 * exact, "scalar z=" + z[i]);
                max = Math.max(max, z[i]);
            }
            assertEquals(max, VectorMath.max(z, 0, n));
            assertEquals(max, VectorMath.scalarMax(z, 0, n));
        }
    }

    @Test
    void sumsDotsAndDeviationsMatchDoubleLoops() {
        for (int n : new int[]{1, 16, 37, 768}) {
            float[] a = values(n, 11 + n, -3, 5), b = values(n, 13 + n, -2, 2);
            double sum = 0, dot = 0, dev = 0;
            for (int i = 0; i < n; i++) {
                sum += a[i];
                dot += (double) a[i] * b[i];
            }
            float mean = (float) (sum / n);
            for (int i = 0; i < n; i++) {
                dev += (a[i] - mean) * (double) (a[i] - mean);
            }
            assertEquals(sum, VectorMath.sum(a, n), 1e-5 * (1 + Math.abs(sum)), "n=" + n);
            assertEquals(dot, VectorMath.dot(a, b, n), 1e-5 * (1 + Math.abs(dot)), "n=" + n);
            assertEquals(dev, VectorMath.squaredDeviations(a, n, mean), 1e-5 * (1 + dev), "n=" + n);
            if (n > 3) {   // from offsets, on both paths
                double tail = 0;
                for (int i = 0; i < n - 3; i++) {
                    tail += (double) a[3 + i] * b[1 + i];
                }
                assertEquals(tail, VectorMath.dot(a, 3, b, 1, n - 3), 1e-5 * (1 + Math.abs(tail)), "n=" + n);
                assertEquals(tail, VectorMath.scalarDot(a, 3, b, 1, n - 3), 1e-9 * (1 + Math.abs(tail)), "n=" + n);
            }
        }
    }

    @Test
    void attentionScoresMatchADoubleLoopOverPaddedKeyRows() {
        for (int dh : new int[]{3, 17, 32, 64}) {
            for (int n : new int[]{1, 15, 16, 17, 80}) {
                int stride = VectorMath.roundUpToLanes(n) + 16, kOff = 5 * stride;   // rows start anywhere
                assertEquals(stride, VectorMath.roundUpToLanes(stride), "key rows hold whole vectors");
                float[] keys = values(kOff + dh * stride, dh * 100 + n, -1, 1), q = values(dh + 2, n, -2, 2);
                float[] bias = values(2 * stride, 3, -1, 1);
                float[] simd = new float[stride], scalar = new float[stride];
                VectorMath.queryKeys(q, 2, 0.25f, keys, kOff, stride, dh, bias, stride, simd, n);
                VectorMath.scalarQueryKeys(q, 2, 0.25f, keys, kOff, stride, dh, bias, stride, scalar, n);
                for (int t = 0; t < n; t++) {
                    double exact = bias[stride + t];
                    for (int i = 0; i < dh; i++) {
                        exact += 0.25 * q[2 + i] * keys[kOff + i * stride + t];
                    }
                    assertEquals(exact, simd[t], 1e-5, "dh=" + dh + " n=" + n + " t=" + t);
                    assertEquals(exact, scalar[t], 1e-5, "scalar dh=" + dh + " n=" + n + " t=" + t);
                }
            }
        }
    }

    @Test
    void weightedRowSumsMatchADoubleLoop() {
        for (int width : new int[]{3, 16, 32, 40, 64}) {
            for (int n : new int[]{1, 2, 17, 48}) {
                int base = 7;
                float[] rows = values(base + n * width, width + n, -1, 1), p = values(n, n, 0, 1);
                float[] simd = values(width + 4, 1, 5, 6), scalar = simd.clone();
                VectorMath.weightedRows(p, n, rows, base, width, 0.5f, simd, 2);
                VectorMath.scalarWeightedRows(p, n, rows, base, width, 0, 0.5f, scalar, 2);
                for (int i = 0; i < width; i++) {
                    double exact = 0;
                    for (int t = 0; t < n; t++) {
                        exact += (double) p[t] * rows[base + t * width + i];
                    }
                    exact *= 0.5;
                    assertEquals(exact, simd[2 + i], 1e-5, "width=" + width + " n=" + n + " i=" + i);
                    assertEquals(exact, scalar[2 + i], 1e-5, "scalar width=" + width + " n=" + n + " i=" + i);
                }
                assertTrue(simd[0] >= 5 && simd[1] >= 5 && simd[width + 3] >= 5, "outside [o, o + width) untouched");
            }
        }
    }
}
