package org.rlsf.model;

import java.util.Arrays;

/**
 * The key/value cache of one decoding batch in Java arrays, and single-token attention over it in plain Java loops:
 * the CPU path of {@link KvCacheDecoder}'s decoding steps. A step's attention touches a few hundred thousand numbers
 * in 64 tiny per-(row, head) products; libnd4j's batched matmul and softmax spent 300–450 µs per layer on that at
 * batch 16, these loops about a third of it. Keys are stored transposed per (row, head), [dh][capacity], so that
 * both products run as contiguous multiply-adds the JIT vectorises.
 *
 * <p>Plain Java, no ND4J: {@code HeapKvCacheTest} checks it against a direct computation and
 * {@code KvCacheDecoderTest} checks the decoder on it against the training graph.
 */
final class HeapKvCache {
    private final int batch;
    private final int heads;
    private final int headDim;
    private final int capacity;
    private final float[][] keysT;     // [layer][((b·H + h)·dh + i)·capacity + t]
    private final float[][] values;    // [layer][((b·H + h)·capacity + t)·dh + i]
    private final float[] bias;        // [b·capacity + t]: additive, −1e9 on each row's left padding
    private final float[] scores;      // scratch, one (row, head) at a time

    HeapKvCache(int layers, int batch, int heads, int headDim, int capacity, int[] padLeft, float masked) {
        this.batch = batch;
        this.heads = heads;
        this.headDim = headDim;
        this.capacity = capacity;
        this.keysT = new float[layers][batch * heads * headDim * capacity];
        this.values = new float[layers][batch * heads * capacity * headDim];
        this.bias = new float[batch * capacity];
        for (int b = 0; b < batch; b++) {
            Arrays.fill(bias, b * capacity, b * capacity + padLeft[b], masked);
        }
        this.scores = new float[capacity];
    }

    /** A cache whose row i is a copy of row {@code rows[i]} of {@code parent} (rows may repeat). */
    HeapKvCache(HeapKvCache parent, int[] rows) {
        this.batch = rows.length;
        this.heads = parent.heads;
        this.headDim = parent.headDim;
        this.capacity = parent.capacity;
        int layers = parent.keysT.length, rowSize = heads * headDim * capacity;
        this.keysT = new float[layers][batch * rowSize];
        this.values = new float[layers][batch * rowSize];
        this.bias = new float[batch * capacity];
        for (int i = 0; i < batch; i++) {
            for (int l = 0; l < layers; l++) {
                System.arraycopy(parent.keysT[l], rows[i] * rowSize, keysT[l], i * rowSize, rowSize);
                System.arraycopy(parent.values[l], rows[i] * rowSize, values[l], i * rowSize, rowSize);
            }
            System.arraycopy(parent.bias, rows[i] * capacity, bias, i * capacity, capacity);
        }
        this.scores = new float[capacity];
    }

    /**
     * Stores positions [at, at + s) of layer {@code layer} from {@code k} and {@code v}, both laid out
     * [b][h][s][dh] (row-major) as a multi-token chunk's split projections are.
     */
    void putChunk(int layer, float[] k, int kOffset, float[] v, int vOffset, int at, int s) {
        float[] kT = keysT[layer], vals = values[layer];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int bh = b * heads + h, src = bh * s * headDim;
                System.arraycopy(v, vOffset + src, vals, (bh * capacity + at) * headDim, s * headDim);
                for (int t = 0; t < s; t++) {
                    for (int i = 0; i < headDim; i++) {
                        kT[(bh * headDim + i) * capacity + at + t] = k[kOffset + src + t * headDim + i];
                    }
                }
            }
        }
    }

    /**
     * One decoding step of layer {@code layer}: stores position {@code at} from the fused projections {@code qkv}
     * ([b][3][h][dh]: query, key, value of each row's new token), then writes each row's attention output over
     * positions [0, at] to {@code out} ([b][h][dh]). {@code scale} multiplies the query·key products.
     */
    void step(int layer, float[] qkv, int at, float scale, float[] out) {
        float[] kT = keysT[layer], vals = values[layer];
        int d = heads * headDim, total = at + 1;
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int bh = b * heads + h, q = b * 3 * d + h * headDim;
                for (int i = 0; i < headDim; i++) {
                    kT[(bh * headDim + i) * capacity + at] = qkv[q + d + i];
                }
                System.arraycopy(qkv, q + 2 * d, vals, (bh * capacity + at) * headDim, headDim);
                attend(kT, vals, bh, qkv, q, scale, b * capacity, total, out, b * d + h * headDim);
            }
        }
    }

    private void attend(float[] kT, float[] vals, int bh, float[] qkv, int q, float scale, int biasRow, int total,
                        float[] out, int o) {
        float[] sc = scores;
        System.arraycopy(bias, biasRow, sc, 0, total);
        // scores[t] += q_i · K[t][i], contiguous in t; four key rows per pass (fewer passes over scores: ~1.4x)
        int keyBase = bh * headDim * capacity, i = 0;
        for (; i + 3 < headDim; i += 4) {
            float q0 = qkv[q + i] * scale, q1 = qkv[q + i + 1] * scale, q2 = qkv[q + i + 2] * scale, q3 = qkv[q + i + 3] * scale;
            int r0 = keyBase + i * capacity, r1 = r0 + capacity, r2 = r1 + capacity, r3 = r2 + capacity;
            for (int t = 0; t < total; t++) {
                sc[t] += q0 * kT[r0 + t] + q1 * kT[r1 + t] + q2 * kT[r2 + t] + q3 * kT[r3 + t];
            }
        }
        for (; i < headDim; i++) {
            float qi = qkv[q + i] * scale;
            int row = keyBase + i * capacity;
            for (int t = 0; t < total; t++) {
                sc[t] += qi * kT[row + t];
            }
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int k = 0; k < total; k++) {
            max = Math.max(max, sc[k]);
        }
        float sum = 0;
        for (int k = 0; k < total; k++) {
            float e = (float) Math.exp(sc[k] - max);
            sc[k] = e;
            sum += e;
        }
        float inv = 1f / sum;
        Arrays.fill(out, o, o + headDim, 0f);
        // out += p_t · V[t], contiguous in dh; four positions per pass
        int valueBase = bh * capacity * headDim, t = 0;
        for (; t + 3 < total; t += 4) {
            float p0 = sc[t] * inv, p1 = sc[t + 1] * inv, p2 = sc[t + 2] * inv, p3 = sc[t + 3] * inv;
            int v0 = valueBase + t * headDim, v1 = v0 + headDim, v2 = v1 + headDim, v3 = v2 + headDim;
            for (int j = 0; j < headDim; j++) {
                out[o + j] += p0 * vals[v0 + j] + p1 * vals[v1 + j] + p2 * vals[v2 + j] + p3 * vals[v3 + j];
            }
        }
        for (; t < total; t++) {
            float p = sc[t] * inv;
            int row = valueBase + t * headDim;
            for (int j = 0; j < headDim; j++) {
                out[o + j] += p * vals[row + j];
            }
        }
    }
}
