package org.rlsf.model.graph;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.model.VectorMath;

import java.nio.FloatBuffer;

/**
 * The eager layers' element-wise work as Java loops over float32 row-major memory on the CPU backend: the norms'
 * statistics, scale and backward, and the MLP activations with their derivatives. Each replaces a chain of libnd4j
 * ops (at d = 128, libnd4j's variance alone took 6% of a DPO step; each op also writes a full temporary). Every
 * method returns null, doing nothing, where its arrays are not float32 row-major memory (float64 in the reference
 * tests, another backend): the caller then takes the ND4J ops, the same function.
 */
final class RowKernels {
    /** GELU (tanh form) as x·σ(x·(C1 + C2·x²)): 0.5·(1 + tanh(z)) = σ(2z). */
    static final double C1 = 2 * Math.sqrt(2.0 / Math.PI), C2 = C1 * 0.044715;
    private static final float F1 = (float) C1, F2 = (float) C2, F3 = (float) (3 * C2);
    /**
     * Floats moved between ND4J's memory and a Java array per bulk copy in the loops that work in blocks (~64 KB): a
     * whole [T, T] attention matrix at the usual lengths; a copy per row cost more than the row.
     */
    static final int CHUNK_FLOATS = 1 << 14;
    /** Rows whose gain and bias gradients are summed in float before they join the double totals. */
    private static final int SUM_BLOCK = 32;

    private RowKernels() {
    }

    /**
     * A float32 array's row-major memory on the CPU backend, element 0 at index 0, or null. Contiguous views qualify
     * (a reshape, a block of rows): ND4J marks a reshape as a view even when it is the whole buffer.
     */
    static FloatBuffer floats(INDArray x) {
        if (!Matmul.CPU || x.dataType() != DataType.FLOAT || x.ordering() != 'c' || x.elementWiseStride() != 1
                || x.offset() + x.length() > Integer.MAX_VALUE) {
            return null;
        }
        return x.data().asNioFloat().slice((int) x.offset(), (int) x.length());
    }

    private static float[] vector(INDArray v) {
        return v == null ? null : v.toFloatVector();
    }

    /**
     * {xhat, rstd, xhat·g (+ b)} of the norm over the rows of {@code x} ([n, d]): LayerNorm xhat = (x − mean)·rstd with
     * rstd = (var + eps)^−½ (the population variance, two passes in double), or RMSNorm xhat = x·rstd with
     * rstd = (mean(x²) + eps)^−½. Null where {@code x} is not float32 row-major memory.
     */
    static INDArray[] norm(INDArray x, boolean rms, double eps, INDArray gain, INDArray bias) {
        FloatBuffer in = floats(x);
        if (in == null) {
            return null;
        }
        int n = (int) x.size(0), d = (int) x.size(1);
        INDArray xhat = Nd4j.createUninitialized(DataType.FLOAT, n, d), rstd = Nd4j.createUninitialized(DataType.FLOAT, n, 1);
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, n, d);
        FloatBuffer xh = xhat.data().asNioFloat(), r = rstd.data().asNioFloat(), o = out.data().asNioFloat();
        float[] g = vector(gain), b = vector(bias), row = new float[d], y = new float[d];
        for (int i = 0; i < n; i++) {
            in.get(i * d, row, 0, d);
            float m = rms ? 0f : (float) (VectorMath.sum(row, d) / d);
            float s = (float) (1 / Math.sqrt(VectorMath.squaredDeviations(row, d, m) / d + eps));
            for (int j = 0; j < d; j++) {
                row[j] = (row[j] - m) * s;
            }
            for (int j = 0; j < d; j++) {
                y[j] = row[j] * g[j];
            }
            if (b != null) {
                for (int j = 0; j < d; j++) {
                    y[j] += b[j];
                }
            }
            xh.put(i * d, row, 0, d);
            o.put(i * d, y, 0, d);
            r.put(i, s);
        }
        return new INDArray[]{xhat, rstd, out};
    }

    /**
     * The norm's backward (see {@link EagerBlockLayer#normBackward}): dL/dx, with the gain and bias gradients written
     * into {@code dGain} and {@code dBias} (null skips one) and {@code residual} (may be null) added to dL/dx. Null
     * where the arrays are not float32 row-major memory.
     */
    static INDArray normBackward(INDArray dOut, INDArray xhat, INDArray rstd, boolean rms, INDArray gain, INDArray dGain,
                                 INDArray dBias, INDArray residual) {
        FloatBuffer dy = floats(dOut), xh = floats(xhat), r = floats(rstd), res = residual == null ? null : floats(residual);
        if (dy == null || xh == null || r == null || (residual != null && res == null)) {
            return null;
        }
        int n = (int) dOut.size(0), d = (int) dOut.size(1);
        INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, n, d);
        FloatBuffer out = dx.data().asNioFloat();
        float[] g = vector(gain), dyRow = new float[d], xRow = new float[d], dxhat = new float[d], resRow = new float[d];
        double[] sumGain = new double[d], sumBias = new double[d];
        float[] blockGain = new float[d], blockBias = new float[d];   // float sums over SUM_BLOCK rows, then into double
        for (int i = 0; i < n; i++) {
            dy.get(i * d, dyRow, 0, d);
            xh.get(i * d, xRow, 0, d);
            for (int j = 0; j < d; j++) {
                blockGain[j] += dyRow[j] * xRow[j];
                blockBias[j] += dyRow[j];
                dxhat[j] = dyRow[j] * g[j];
            }
            if ((i + 1) % SUM_BLOCK == 0 || i == n - 1) {
                for (int j = 0; j < d; j++) {
                    sumGain[j] += blockGain[j];
                    sumBias[j] += blockBias[j];
                }
                java.util.Arrays.fill(blockGain, 0f);
                java.util.Arrays.fill(blockBias, 0f);
            }
            float p = (float) (VectorMath.dot(dxhat, xRow, d) / d), m = rms ? 0f : (float) (VectorMath.sum(dxhat, d) / d);
            float s = r.get(i);
            for (int j = 0; j < d; j++) {
                dxhat[j] = (dxhat[j] - m - xRow[j] * p) * s;
            }
            if (res != null) {
                res.get(i * d, resRow, 0, d);
                for (int j = 0; j < d; j++) {
                    dxhat[j] += resRow[j];
                }
            }
            out.put(i * d, dxhat, 0, d);
        }
        if (dGain != null) {
            dGain.assign(Nd4j.createFromArray(sumGain).castTo(dGain.dataType()).reshape(dGain.shape()));
        }
        if (dBias != null) {
            dBias.assign(Nd4j.createFromArray(sumBias).castTo(dBias.dataType()).reshape(dBias.shape()));
        }
        return dx;
    }

    /**
     * The MLP's activation on {@code u} ([n, f], or SwiGLU's [n, 2f] as [gate | up]): {σ, hidden} with GELU's
     * σ(u·(C1 + C2·u²)) and hidden u·σ, or SwiGLU's σ(gate) and hidden gate·σ·up ([n, f] each). Null where {@code u} is
     * not float32 row-major memory.
     */
    static INDArray[] activation(INDArray u, boolean swiglu) {
        FloatBuffer in = floats(u);
        if (in == null) {
            return null;
        }
        int n = (int) u.size(0), w = (int) u.size(1), f = swiglu ? w / 2 : w;
        INDArray sig = Nd4j.createUninitialized(DataType.FLOAT, n, f), hid = Nd4j.createUninitialized(DataType.FLOAT, n, f);
        FloatBuffer so = sig.data().asNioFloat(), ho = hid.data().asNioFloat();
        float[] row = new float[w], s = new float[f], h = new float[f];
        for (int i = 0; i < n; i++) {
            in.get(i * w, row, 0, w);
            if (!swiglu) {   // σ's argument: u·(C1 + C2·u²), or SwiGLU's gate (row[0, f)) as it is
                for (int j = 0; j < f; j++) {
                    float x = row[j];
                    s[j] = x * (F1 + F2 * x * x);
                }
            }
            VectorMath.sigmoid(swiglu ? row : s, s, f);
            if (swiglu) {
                for (int j = 0; j < f; j++) {
                    h[j] = row[j] * s[j] * row[f + j];
                }
            } else {
                for (int j = 0; j < f; j++) {
                    h[j] = row[j] * s[j];
                }
            }
            so.put(i * f, s, 0, f);
            ho.put(i * f, h, 0, f);
        }
        return new INDArray[]{sig, hid};
    }

    /**
     * dL/du from dL/dhidden ({@code dHid}, [n, f]) and {@link #activation}'s σ: GELU's dhid·(σ + u·(C1 + 3·C2·u²)·σ·(1 − σ)),
     * or SwiGLU's [dgate | dup] = [dhid·up·σ·(1 + gate·(1 − σ)) | dhid·gate·σ]. Null where an array is not float32
     * row-major memory.
     */
    static INDArray activationBackward(INDArray dHid, INDArray u, INDArray sig, boolean swiglu) {
        FloatBuffer dh = floats(dHid), in = floats(u), sg = floats(sig);
        if (dh == null || in == null || sg == null) {
            return null;
        }
        int n = (int) u.size(0), w = (int) u.size(1), f = swiglu ? w / 2 : w;
        INDArray dU = Nd4j.createUninitialized(DataType.FLOAT, n, w);
        FloatBuffer out = dU.data().asNioFloat();
        float[] row = new float[w], s = new float[f], g = new float[f], du = new float[w];
        for (int i = 0; i < n; i++) {
            in.get(i * w, row, 0, w);
            sg.get(i * f, s, 0, f);
            dh.get(i * f, g, 0, f);
            if (swiglu) {
                for (int j = 0; j < f; j++) {
                    float x = row[j], up = row[f + j], sj = s[j];
                    du[f + j] = g[j] * x * sj;
                    du[j] = g[j] * up * sj * (1f + x * (1f - sj));
                }
            } else {
                for (int j = 0; j < f; j++) {
                    float x = row[j], sj = s[j];
                    du[j] = g[j] * (sj + x * (F1 + F3 * x * x) * sj * (1f - sj));
                }
            }
            out.put(i * w, du, 0, w);
        }
        return dU;
    }

    /**
     * Per row of {@code logits} ([c, V]): log Σ e^logit (the max shifted out first); with {@code softmaxInPlace} the
     * row becomes its softmax. Null, doing nothing, where {@code logits} is not float32 row-major memory.
     */
    static double[] logSumExp(INDArray logits, boolean softmaxInPlace) {
        FloatBuffer b = floats(logits);
        if (b == null) {
            return null;
        }
        int c = (int) logits.size(0), v = (int) logits.size(1);
        double[] out = new double[c];
        float[] row = new float[v];
        for (int i = 0; i < c; i++) {
            b.get(i * v, row, 0, v);
            float max = VectorMath.max(row, 0, v);
            double sum = VectorMath.expShifted(row, 0, v, max);
            out[i] = max + Math.log(sum);
            if (softmaxInPlace) {
                float inv = (float) (1 / sum);
                for (int j = 0; j < v; j++) {
                    row[j] *= inv;
                }
                b.put(i * v, row, 0, v);
            }
        }
        return out;
    }
}
