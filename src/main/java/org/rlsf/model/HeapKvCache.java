package org.rlsf.model;

import java.util.Arrays;

/**
 * The key/value cache of one decoding batch in Java arrays, and attention over it in plain Java loops (one token per
 * row a step, or a prompt chunk causally): the CPU path of {@link KvCacheDecoder}'s decoding. A step's attention
 * touches a few hundred thousand numbers in 64 tiny per-(row, head) products; libnd4j's batched matmul and softmax
 * spent 300–450 µs per layer on that at batch 16, these loops (on the Vector API) about a tenth of it. Keys are stored
 * transposed per (row, head), [dh][stride] with each row padded to whole vectors, so the query·key scores run a
 * register of positions at a time ({@link VectorMath#queryKeys}); values as rows, [capacity][dh], so the
 * probability-weighted sum adds whole rows ({@link VectorMath#weightedRows}). With grouped-query attention the cache
 * holds the key/value heads only, and query head h reads key/value head h / (heads / kvHeads).
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
    private final int stride;          // capacity rounded up to whole vectors (VectorMath.roundUpToLanes): a key row
    private final float[][] keysT;     // [layer][((b·KV + h)·dh + i)·stride + t]
    private final float[][] values;    // [layer][((b·KV + h)·capacity + t)·dh + i]
    private final float[] bias;        // [b·stride + t]: additive, −1e9 on each row's left padding
    private final float[] scores;      // scratch, one (row, head) at a time
    private int filled;                // positions [0, filled) hold keys and values (a fork copies only those)

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
        this.stride = VectorMath.roundUpToLanes(capacity);
        this.keysT = new float[layers][batch * kvHeads * headDim * stride];
        this.values = new float[layers][batch * kvHeads * headDim * capacity];
        this.bias = new float[batch * stride];
        for (int b = 0; b < batch; b++) {
            Arrays.fill(bias, b * stride, b * stride + padLeft[b], masked);
        }
        this.scores = new float[stride];
    }

    /** A cache whose row i is a copy of row {@code rows[i]} of {@code parent} (rows may repeat). */
    HeapKvCache(HeapKvCache parent, int[] rows) {
        this.batch = rows.length;
        this.heads = parent.heads;
        this.kvHeads = parent.kvHeads;
        this.headDim = parent.headDim;
        this.capacity = parent.capacity;
        this.stride = parent.stride;
        int layers = parent.keysT.length, keySize = kvHeads * headDim * stride, valueSize = kvHeads * headDim * capacity;
        this.keysT = new float[layers][batch * keySize];
        this.values = new float[layers][batch * valueSize];
        this.bias = new float[batch * stride];
        this.filled = parent.filled;
        int keyRows = kvHeads * headDim, valueBlock = capacity * headDim;
        for (int i = 0; i < batch; i++) {
            for (int l = 0; l < layers; l++) {
                for (int r = 0; r < keyRows; r++) {   // each key row's filled positions
                    System.arraycopy(parent.keysT[l], rows[i] * keySize + r * stride, keysT[l], i * keySize + r * stride, filled);
                }
                for (int h = 0; h < kvHeads; h++) {   // each head's filled value rows
                    System.arraycopy(parent.values[l], rows[i] * valueSize + h * valueBlock, values[l],
                            i * valueSize + h * valueBlock, filled * headDim);
                }
            }
            System.arraycopy(parent.bias, rows[i] * stride, bias, i * stride, stride);
        }
        this.scores = new float[stride];
    }

    /**
     * One decoding step of layer {@code layer}: stores position {@code at} from the fused projections {@code qkv}
     * (per row [H·dh query | KV·dh key | KV·dh value] of its new token), then writes each row's attention output over
     * positions [0, at] to {@code out} ([b][h][dh]). {@code scale} multiplies the query·key products.
     */
    void step(int layer, float[] qkv, int at, float scale, float[] out) {
        filled = Math.max(filled, at + 1);
        float[] kT = keysT[layer], vs = values[layer];
        int d = heads * headDim, width = d + 2 * kvHeads * headDim, group = heads / kvHeads;
        for (int b = 0; b < batch; b++) {
            int row = b * width;
            store(kT, vs, qkv, row, b, at);
            for (int h = 0; h < heads; h++) {
                attend(kT, vs, b * kvHeads + h / group, qkv, row + h * headDim, scale, b * stride, at + 1, out,
                        b * d + h * headDim);
            }
        }
    }

    /**
     * The prompt chunk of layer {@code layer}, on an empty cache: stores positions [0, s) of every row from the fused
     * projections {@code qkv} (rows ordered (row, position), each as {@link #step} reads one), then writes each
     * position's causal attention over positions [0, i] to {@code out} ([b·s + i][h][dh]). Each row's left padding is
     * masked as in a step; a padding position's own output is never read.
     */
    void chunk(int layer, float[] qkv, int s, float scale, float[] out) {
        filled = Math.max(filled, s);
        float[] kT = keysT[layer], vs = values[layer];
        int d = heads * headDim, width = d + 2 * kvHeads * headDim, group = heads / kvHeads;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < s; i++) {
                store(kT, vs, qkv, (b * s + i) * width, b, i);
            }
            for (int i = 0; i < s; i++) {
                int row = (b * s + i) * width;
                for (int h = 0; h < heads; h++) {
                    attend(kT, vs, b * kvHeads + h / group, qkv, row + h * headDim, scale, b * stride, i + 1, out,
                            (b * s + i) * d + h * headDim);
                }
            }
        }
    }

    /** Position {@code at} of row {@code b}'s keys and values, from the fused projection row at {@code row} of qkv. */
    private void store(float[] kT, float[] vs, float[] qkv, int row, int b, int at) {
        int d = heads * headDim, kvd = kvHeads * headDim;
        for (int h = 0; h < kvHeads; h++) {
            int bh = b * kvHeads + h, k = row + d + h * headDim;
            for (int i = 0; i < headDim; i++) {
                kT[(bh * headDim + i) * stride + at] = qkv[k + i];
            }
            System.arraycopy(qkv, row + d + kvd + h * headDim, vs, (bh * capacity + at) * headDim, headDim);
        }
    }

    private void attend(float[] kT, float[] vs, int bh, float[] qkv, int q, float scale, int biasRow, int total,
                        float[] out, int o) {
        float[] sc = scores;
        VectorMath.queryKeys(qkv, q, scale, kT, bh * headDim * stride, stride, headDim, bias, biasRow, sc, total);
        float max = VectorMath.max(sc, 0, total);
        float inv = (float) (1 / VectorMath.expShifted(sc, 0, total, max));
        // out_i = Σ_t p_t · V[t][i]: whole value rows, scaled by the softmax's 1/Σ
        VectorMath.weightedRows(sc, total, vs, bh * capacity * headDim, headDim, inv, out, o);
    }
}
