package org.rlsf.model;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link HeapKvCache}'s layout and single-token attention against a direct computation in float64. */
class HeapKvCacheTest {
    private static final int B = 3, H = 2, DH = 4, D = H * DH, CAP = 7, L = 2;
    private static final float MASKED = -1e9f;
    private final Random rng = new Random(5);

    /** keys[l][b][h][t][i], values likewise: what the cache should hold. */
    private final double[][][][][] keys = new double[L][B][H][CAP][DH];
    private final double[][][][][] values = new double[L][B][H][CAP][DH];

    private float[] random(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rng.nextGaussian();
        }
        return a;
    }

    /** Softmax attention of one query over positions [padLeft, total) of the reference cache. */
    private double[] expected(int l, int b, int h, float[] qkv, int total, int padLeft, double scale) {
        double[] s = new double[total];
        double max = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < total; t++) {
            for (int i = 0; i < DH; i++) {
                s[t] += qkv[b * 3 * D + h * DH + i] * keys[l][b][h][t][i] * scale;
            }
            s[t] += t < padLeft ? MASKED : 0;
            max = Math.max(max, s[t]);
        }
        double z = 0;
        for (int t = 0; t < total; t++) {
            s[t] = Math.exp(s[t] - max);
            z += s[t];
        }
        double[] out = new double[DH];
        for (int t = 0; t < total; t++) {
            for (int i = 0; i < DH; i++) {
                out[i] += s[t] / z * values[l][b][h][t][i];
            }
        }
        return out;
    }

    @Test
    void stepsAttendOverThePrefilledChunkAndEveryCachedTokenWithPaddingMasked() {
        int[] padLeft = {0, 2, 1};
        int s = 3;
        HeapKvCache cache = new HeapKvCache(L, B, H, DH, CAP, padLeft, MASKED);
        for (int l = 0; l < L; l++) {   // a prompt chunk: fused projection rows ordered (row, position)
            float[] qkv = random(B * s * 3 * D);
            cache.chunk(l, qkv, s, 1f, new float[B * s * D]);
            for (int b = 0; b < B; b++) {
                for (int h = 0; h < H; h++) {
                    for (int t = 0; t < s; t++) {
                        for (int i = 0; i < DH; i++) {
                            int row = (b * s + t) * 3 * D;
                            keys[l][b][h][t][i] = qkv[row + D + h * DH + i];
                            values[l][b][h][t][i] = qkv[row + 2 * D + h * DH + i];
                        }
                    }
                }
            }
        }
        double scale = 1 / Math.sqrt(DH);
        for (int at = s; at < CAP; at++) {
            for (int l = 0; l < L; l++) {
                float[] qkv = random(B * 3 * D);
                float[] out = new float[B * D];
                cache.step(l, qkv, at, (float) scale, out);
                for (int b = 0; b < B; b++) {
                    for (int h = 0; h < H; h++) {
                        for (int i = 0; i < DH; i++) {
                            keys[l][b][h][at][i] = qkv[b * 3 * D + D + h * DH + i];
                            values[l][b][h][at][i] = qkv[b * 3 * D + 2 * D + h * DH + i];
                        }
                        double[] want = expected(l, b, h, qkv, at + 1, padLeft[b], scale);
                        for (int i = 0; i < DH; i++) {
                            assertEquals(want[i], out[b * D + h * DH + i], 1e-5, "layer " + l + " row " + b + " head " + h + " at " + at);
                        }
                    }
                }
            }
        }
    }

    @Test
    void aForkCopiesTheChosenRowsWithTheirPadding() {
        int[] padLeft = {1, 0, 2};
        HeapKvCache parent = new HeapKvCache(L, B, H, DH, CAP, padLeft, MASKED);
        for (int l = 0; l < L; l++) {
            parent.step(l, random(B * 3 * D), 0, 1f, new float[B * D]);
            parent.step(l, random(B * 3 * D), 1, 1f, new float[B * D]);
        }
        int[] rows = {2, 2, 0};
        HeapKvCache child = new HeapKvCache(parent, rows);
        for (int l = 0; l < L; l++) {
            float[] qkv = random(B * 3 * D);
            float[] fromParent = new float[B * D], fromChild = new float[rows.length * D];
            float[] parentQkv = new float[B * 3 * D];
            for (int i = 0; i < rows.length; i++) {   // the same new token in the parent row and its copy
                System.arraycopy(qkv, i * 3 * D, parentQkv, rows[i] * 3 * D, 3 * D);
                HeapKvCache again = new HeapKvCache(parent, new int[]{0, 1, 2});
                again.step(l, parentQkv, 2, 0.5f, fromParent);
                child.step(l, qkv, 2, 0.5f, fromChild);
                for (int j = 0; j < D; j++) {
                    assertEquals(fromParent[rows[i] * D + j], fromChild[i * D + j], 0f, "fork row " + i + " of " + rows[i]);
                }
            }
        }
    }

    @Test
    void aPromptChunkAttendsCausallyAsOneStepAtATimeDoes() {
        int[] padLeft = {0, 2, 1};
        int s = 5;
        HeapKvCache chunked = new HeapKvCache(L, B, H, DH, CAP, padLeft, MASKED);
        HeapKvCache stepped = new HeapKvCache(L, B, H, DH, CAP, padLeft, MASKED);
        for (int l = 0; l < L; l++) {
            float[] qkv = random(B * s * 3 * D);   // rows ordered (row, position)
            float[] out = new float[B * s * D];
            chunked.chunk(l, qkv, s, 0.5f, out);
            for (int i = 0; i < s; i++) {
                float[] stepQkv = new float[B * 3 * D], stepOut = new float[B * D];
                for (int b = 0; b < B; b++) {
                    System.arraycopy(qkv, (b * s + i) * 3 * D, stepQkv, b * 3 * D, 3 * D);
                }
                stepped.step(l, stepQkv, i, 0.5f, stepOut);
                for (int b = 0; b < B; b++) {
                    if (i < padLeft[b]) {
                        continue;   // a padding position's own output is never read
                    }
                    for (int j = 0; j < D; j++) {
                        assertEquals(stepOut[b * D + j], out[(b * s + i) * D + j], 1e-6f, "l=" + l + " row " + b + " position " + i);
                    }
                }
            }
        }
        float[] qkv = random(B * 3 * D), a = new float[B * D], b = new float[B * D];
        chunked.step(0, qkv, s, 0.5f, a);
        stepped.step(0, qkv, s, 0.5f, b);
        for (int j = 0; j < B * D; j++) {
            assertEquals(b[j], a[j], 1e-6f, "the next step sees the same cache");
        }
    }
}
