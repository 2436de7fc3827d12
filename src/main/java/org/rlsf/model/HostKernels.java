package org.rlsf.model;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The decoder's host kernels: element-wise work, LayerNorm and log-softmax as Java loops over row-major float arrays,
 * and bulk copies of ND4J arrays into Java arrays. Each computes the training graph's function.
 */
final class HostKernels {
    private static final boolean CPU = Nd4j.getEnvironment().isCPU();

    /** Elements per pass of the activations' sigmoid (a scratch array that stays in cache). */
    private static final int CHUNK = 1024;

    private HostKernels() {
    }

    /** The graph's tanh-approximate GELU on a Java array, in place: x·σ(x·(c1 + c2·x²)). */
    static void geluInPlace(float[] x) {
        float c1 = (float) (2 * Math.sqrt(2.0 / Math.PI)), c2 = (float) (c1 * 0.044715);
        float[] s = new float[Math.min(x.length, CHUNK)];
        for (int from = 0; from < x.length; from += CHUNK) {
            int n = Math.min(CHUNK, x.length - from);
            for (int i = 0; i < n; i++) {
                float v = x[from + i];
                s[i] = v * (c1 + c2 * v * v);
            }
            VectorMath.sigmoid(s, s, n);
            for (int i = 0; i < n; i++) {
                x[from + i] *= s[i];
            }
        }
    }

    /** Adds {@code bias} to every row of the row-major {@code m} (nothing when null: a design without it). */
    static void addRowVector(float[] m, float[] bias) {
        if (bias == null) {
            return;
        }
        int n = bias.length;
        for (int base = 0; base < m.length; base += n) {
            for (int i = 0; i < n; i++) {
                m[base + i] += bias[i];
            }
        }
    }

    /** {@code x += y + bias} on every row: a residual add of a projection whose bias (if any) is still to add. */
    static void addResidual(float[] x, float[] y, float[] bias) {
        if (bias == null) {
            addInPlace(x, y);
            return;
        }
        int n = bias.length;
        for (int base = 0; base < x.length; base += n) {
            for (int i = 0; i < n; i++) {
                x[base + i] += y[base + i] + bias[i];
            }
        }
    }

    /** {@code x += y}, elementwise. */
    static void addInPlace(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    /**
     * LayerNorm of each d-long row of {@code x} into {@code out}, as the graph computes it ({@code SdOps.layerNorm}):
     * (x − mean)/sqrt(var + eps)·g + b with the biased variance; sums in float64.
     */
    static void layerNormRows(float[] x, float[] gain, float[] bias, double eps, int d, float[] out) {
        for (int base = 0; base < x.length; base += d) {
            double sum = 0;
            for (int i = 0; i < d; i++) {
                sum += x[base + i];
            }
            float mean = (float) (sum / d);
            double sq = 0;
            for (int i = 0; i < d; i++) {
                float c = x[base + i] - mean;
                sq += c * c;
            }
            float rstd = (float) (1.0 / Math.sqrt(sq / d + eps));
            for (int i = 0; i < d; i++) {
                out[base + i] = (x[base + i] - mean) * rstd * gain[i] + bias[i];
            }
        }
    }

    /** RMSNorm of each d-long row of {@code x} into {@code out}, as the graph: x/sqrt(mean(x²) + eps)·g; sums in float64. */
    static void rmsNormRows(float[] x, float[] gain, double eps, int d, float[] out) {
        for (int base = 0; base < x.length; base += d) {
            double sq = 0;
            for (int i = 0; i < d; i++) {
                sq += x[base + i] * x[base + i];
            }
            float rstd = (float) (1.0 / Math.sqrt(sq / d + eps));
            for (int i = 0; i < d; i++) {
                out[base + i] = x[base + i] * rstd * gain[i];
            }
        }
    }

    /**
     * Rotary positions on the first {@code rotatedHeads} heads (the queries, then the keys) of each {@code width}-long
     * row of {@code qkv}, row b at position {@code pos[b]}: x·cos + rotate_half(x)·sin, dimension i paired with i + dh/2.
     * {@code cos}/{@code sin} are [context, dh/2] tables.
     */
    static void ropeRows(float[] qkv, int[] pos, float[] cos, float[] sin, int rotatedHeads, int dh, int width) {
        int half = dh / 2;
        for (int b = 0; b < pos.length; b++) {
            int t = pos[b] * half;
            for (int h = 0; h < rotatedHeads; h++) {
                int base = b * width + h * dh;
                for (int i = 0; i < half; i++) {
                    float x1 = qkv[base + i], x2 = qkv[base + half + i], c = cos[t + i], s = sin[t + i];
                    qkv[base + i] = x1 * c - x2 * s;
                    qkv[base + half + i] = x2 * c + x1 * s;
                }
            }
        }
    }

    /** SwiGLU's hidden from fused gate|up rows ([n, 2·f]): silu(gate)·up into {@code out} ([n, f]). */
    static void swiglu(float[] gateUp, int f, float[] out) {
        int n = out.length / f;
        float[] s = new float[f];
        for (int r = 0; r < n; r++) {
            int in = r * 2 * f, o = r * f;
            System.arraycopy(gateUp, in, s, 0, f);
            VectorMath.sigmoid(s, s, f);
            for (int i = 0; i < f; i++) {
                out[o + i] = gateUp[in + i] * s[i] * gateUp[in + f + i];
            }
        }
    }

    /**
     * A float array's values in a Java array (a view or an 'f' array is copied first): on the CPU backend one memcpy
     * from its memory (DataBuffer.asFloat reads element by element: 5.4 µs against 0.4 µs for [16, 384]).
     */
    static float[] heapCopy(INDArray a) {
        INDArray c = a.isView() || a.ordering() != 'c' || a.offset() != 0 || a.data().length() != a.length()
                ? a.dup('c') : a;
        if (!CPU || c.dataType() != DataType.FLOAT) {
            return c.data().asFloat();
        }
        float[] out = new float[(int) c.length()];
        new FloatPointer(c.data().addressPointer()).get(out);
        return out;
    }

    /** A [n, V] matrix as Java rows, copied off-heap → heap in one bulk read (toFloatMatrix makes a view per row). */
    static float[][] rows(INDArray m) {
        float[] all = heapCopy(m);
        int n = (int) m.size(0), v = (int) m.size(1);
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) {
            out[i] = java.util.Arrays.copyOfRange(all, i * v, (i + 1) * v);
        }
        return out;
    }

    /** Each row of logits turned into log-probabilities in place (sums in float64); returns {@code logits}. */
    static float[][] logSoftmaxRows(float[][] logits) {
        float[] e = null;
        for (float[] row : logits) {
            if (e == null || e.length != row.length) {
                e = new float[row.length];
            }
            float max = VectorMath.max(row, 0, row.length);
            System.arraycopy(row, 0, e, 0, row.length);
            double logZ = max + Math.log(VectorMath.expShifted(e, 0, e.length, max));
            for (int i = 0; i < row.length; i++) {
                row[i] = (float) (row[i] - logZ);
            }
        }
        return logits;
    }
}
