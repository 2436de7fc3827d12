package org.rlsf.model;

import java.util.Arrays;

/**
 * The key/value cache of one decoding batch in Java arrays, and single-token attention over it in plain Java loops:
 * the CPU path of {@link KvCacheDecoder}'s decoding steps. A step's attention touches a few hundred thousand numbers
 * in 64 tiny per-(row, head) products; libnd4j's batched matmul and softmax spent 300–450 µs per layer on that at
 * batch 16, these loops about a fifth of it. Keys and values are stored transposed per (row, head), [dh][capacity],
 * so that both products run over contiguous positions. With grouped-query attention the cache holds the key/value
 * heads only, and query head h reads key/value head h / (heads / kvHeads).
 *
 * <p>Plain Java, no ND4J: {@code HeapKvCacheTest} checks it against a direct computation and
 * {@code KvCacheDecoderTest} checks the decoder on it against the training graph.
 */
final class HeapKvCache {
    private final int batch;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int capacity;
    private final float[][] keysT;     // [layer][((b·KV + h)·dh + i)·capacity + t]
    private final float[][] valuesT;   // [layer][((b·KV + h)·dh + i)·capacity + t]
    private final float[] bias;        // [b·capacity + t]: additive, −1e9 on each row's left padding
    private final float[] scores;      // scratch, one (row, head) at a time

    HeapKvCache(int layers, int batch, int heads, int headDim, int capacity, int[] padLeft, float masked) {
        this(layers, batch, heads, heads, headDim, capacity, padLeft, masked);
    }

    HeapKvCache(int layers, int batch, int heads, int kvHeads, int headDim, int capacity, int[] padLeft, float masked) {
        if (kvHeads <= 0 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("kv heads " + kvHeads + " must divide heads " + heads);
        }
        this.batch = batch;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.capacity = capacity;
        this.keysT = new float[layers][batch * kvHeads * headDim * capacity];
        this.valuesT = new float[layers][batch * kvHeads * headDim * capacity];
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
        this.kvHeads = parent.kvHeads;
        this.headDim = parent.headDim;
        this.capacity = parent.capacity;
        int layers = parent.keysT.length, rowSize = kvHeads * headDim * capacity;
        this.keysT = new float[layers][batch * rowSize];
        this.valuesT = new float[layers][batch * rowSize];
        this.bias = new float[batch * capacity];
        for (int i = 0; i < batch; i++) {
            for (int l = 0; l < layers; l++) {
                System.arraycopy(parent.keysT[l], rows[i] * rowSize, keysT[l], i * rowSize, rowSize);
                System.arraycopy(parent.valuesT[l], rows[i] * rowSize, valuesT[l], i * rowSize, rowSize);
            }
            System.arraycopy(parent.bias, rows[i] * capacity, bias, i * capacity, capacity);
        }
        this.scores = new float[capacity];
    }

    /**
     * Stores positions [at, at + s) of layer {@code layer} from {@code k} and {@code v}, both laid out
     * [b][kv head][s][dh] (row-major) as a multi-token chunk's split projections are.
     */
    void putChunk(int layer, float[] k, int kOffset, float[] v, int vOffset, int at, int s) {
        float[] kT = keysT[layer], vT = valuesT[layer];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < kvHeads; h++) {
                int bh = b * kvHeads + h, src = bh * s * headDim;
                for (int t = 0; t < s; t++) {
                    for (int i = 0; i < headDim; i++) {
                        int to = (bh * headDim + i) * capacity + at + t, from = src + t * headDim + i;
                        kT[to] = k[kOffset + from];
                        vT[to] = v[vOffset + from];
                    }
                }
            }
        }
    }

    /**
     * One decoding step of layer {@code layer}: stores position {@code at} from the fused projections {@code qkv}
     * (per row [H·dh query | KV·dh key | KV·dh value] of its new token), then writes each row's attention output over
     * positions [0, at] to {@code out} ([b][h][dh]). {@code scale} multiplies the query·key products.
     */
    void step(int layer, float[] qkv, int at, float scale, float[] out) {
        float[] kT = keysT[layer], vT = valuesT[layer];
        int d = heads * headDim, kvd = kvHeads * headDim, width = d + 2 * kvd, group = heads / kvHeads, total = at + 1;
        for (int b = 0; b < batch; b++) {
            int row = b * width;
            for (int h = 0; h < kvHeads; h++) {
                int bh = b * kvHeads + h, k = row + d + h * headDim, v = row + d + kvd + h * headDim;
                for (int i = 0; i < headDim; i++) {
                    int to = (bh * headDim + i) * capacity + at;
                    kT[to] = qkv[k + i];
                    vT[to] = qkv[v + i];
                }
            }
            for (int h = 0; h < heads; h++) {
                attend(kT, vT, b * kvHeads + h / group, qkv, row + h * headDim, scale, b * capacity, total, out,
                        b * d + h * headDim);
            }
        }
    }

    private void attend(float[] kT, float[] vT, int bh, float[] qkv, int q, float scale, int biasRow, int total,
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
        float max = VectorMath.max(sc, 0, total);
        float inv = (float) (1 / VectorMath.expShifted(sc, 0, total, max));
        // out_i = Σ_t p_t · V[t][i] over the transposed values, contiguous in t; four outputs per pass with their
        // own accumulators (1.5x the multiply-adds over [t][dh] rows, whose 32-long loops the JIT barely vectorises)
        int valueBase = bh * headDim * capacity;
        i = 0;
        for (; i + 3 < headDim; i += 4) {
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            int r0 = valueBase + i * capacity, r1 = r0 + capacity, r2 = r1 + capacity, r3 = r2 + capacity;
            for (int t = 0; t < total; t++) {
                float p = sc[t];
                s0 += p * vT[r0 + t];
                s1 += p * vT[r1 + t];
                s2 += p * vT[r2 + t];
                s3 += p * vT[r3 + t];
            }
            out[o + i] = s0 * inv;
            out[o + i + 1] = s1 * inv;
            out[o + i + 2] = s2 * inv;
            out[o + i + 3] = s3 * inv;
        }
        for (; i < headDim; i++) {
            float s0 = 0;
            int row = valueBase + i * capacity;
            for (int t = 0; t < total; t++) {
                s0 += sc[t] * vT[row + t];
            }
            out[o + i] = s0 * inv;
        }
    }
}
