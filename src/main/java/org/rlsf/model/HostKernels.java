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

    private HostKernels() {
    }

    /** The graph's tanh-approximate GELU on a Java array, in place: x·σ(x·(c1 + c2·x²)). */
    static void geluInPlace(float[] x) {
        double c1 = 2 * Math.sqrt(2.0 / Math.PI), c2 = c1 * 0.044715;
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            x[i] = (float) (v / (1 + Math.exp(-v * (c1 + c2 * v * v))));
        }
    }

    /** Adds {@code bias} to every row of the row-major {@code m}. */
    static void addRowVector(float[] m, float[] bias) {
        int n = bias.length;
        for (int base = 0; base < m.length; base += n) {
            for (int i = 0; i < n; i++) {
                m[base + i] += bias[i];
            }
        }
    }

    /** {@code x += y + bias} on every row: a residual add of a projection whose bias is still to add. */
    static void addResidual(float[] x, float[] y, float[] bias) {
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
        for (float[] row : logits) {
            double max = Double.NEGATIVE_INFINITY;
            for (float z : row) {
                max = Math.max(max, z);
            }
            double sum = 0;
            for (float z : row) {
                sum += Math.exp(z - max);
            }
            double logZ = max + Math.log(sum);
            for (int i = 0; i < row.length; i++) {
                row[i] = (float) (row[i] - logZ);
            }
        }
        return logits;
    }
}
