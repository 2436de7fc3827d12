package org.rlsf.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.shape.Gather;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.graph.TransformerBlock;

import java.util.Arrays;

/**
 * Decoding steps in ND4J operations over ND4J caches ([B, KV, capacity, dh] keys and values per layer), on any
 * backend, CUDA included, and in float64.
 */
final class Nd4jSteps implements DecodeSteps {
    private final DecoderWeights dw;
    private final int batch;
    private final int capacity;
    private final INDArray[] keys;
    private final INDArray[] values;
    private final INDArray padBias;   // [B, 1, 1, capacity], −1e9 on each row's left padding

    Nd4jSteps(DecoderWeights dw, int batch, int capacity, int[] padLeft) {
        this.dw = dw;
        this.batch = batch;
        this.capacity = capacity;
        int layers = dw.model.nLayers(), h = dw.model.kvHeads(), dh = dw.model.headDim();
        DataType type = dw.w.wte().dataType();
        keys = new INDArray[layers];
        values = new INDArray[layers];
        for (int l = 0; l < layers; l++) {
            keys[l] = Nd4j.zeros(type, batch, h, capacity, dh);
            values[l] = Nd4j.zeros(type, batch, h, capacity, dh);
        }
        padBias = padBias(padLeft, capacity, type);
    }

    private Nd4jSteps(Nd4jSteps parent, int[] rows, int[] padLeft) {
        this.dw = parent.dw;
        this.batch = rows.length;
        this.capacity = parent.capacity;
        keys = new INDArray[parent.keys.length];
        values = new INDArray[parent.values.length];
        for (int l = 0; l < keys.length; l++) {
            keys[l] = gatherRows(parent.keys[l], rows);
            values[l] = gatherRows(parent.values[l], rows);
        }
        padBias = padBias(padLeft, capacity, dw.w.wte().dataType());
    }

    /**
     * The chunk's forward in ND4J ops (embeddings, composed LayerNorm and fused affine maps, batched attention, head
     * and log-softmax at each row's last position, on the host); the caller holds the step workspace open.
     */
    @Override
    public float[][] forward(int[][] chunk, int length, int[] padLeft) {
        ModelConfig model = dw.model;
        int s = chunk[0].length;
        int total = length + s;

        // 1) token + position embeddings, rows ordered (b, s)
        ChunkRows rows = ChunkRows.of(chunk, length, padLeft);
        int[] ids = rows.ids(), pos = rows.positions();
        INDArray x = Nd4j.pullRows(dw.w.wte(), 1, ids);                                        // [n, d]
        if (dw.w.wpe() != null) {
            NativeContexts.exec(new AddOp(x, Nd4j.pullRows(dw.w.wpe(), 1, pos), x));
        }

        // 2) additive attention bias [B, 1, S, total]: padded keys masked, and (prefill only) causal.
        // One new token sees every cached key, so a step only needs the session's padding bias.
        INDArray biasArr = s == 1 ? stepBias(total) : causalBias(s, length, total, padLeft, x.dataType());

        // 3) blocks: fused libnd4j ops where one computes the same function (layer_norm, xw_plus_b), since at
        // these sizes every op's fixed cost, not its arithmetic, is what a decoding step spends
        for (int l = 0; l < model.nLayers(); l++) {
            DecoderWeights.Block blk = dw.blocks.get(l);
            INDArray a = dw.norm(x, blk.ln1g(), blk.ln1b());
            INDArray qkv = DecoderWeights.xwPlusB(a, blk.wQkv(), blk.bQkv());                // [n, (H + 2·KV)·dh]
            if (dw.ropeCos != null) {
                dw.rope(qkv, pos);
            }
            INDArray att = attend(l, qkv, s, length, total, biasArr);
            NativeContexts.exec(new AddOp(x, DecoderWeights.xwPlusB(att, blk.wO(), blk.bO()), x));
            INDArray m = dw.norm(x, blk.ln2g(), blk.ln2b());
            INDArray hidden = DecoderWeights.xwPlusB(m, blk.w1(), blk.b1());
            if (dw.swiglu()) {
                hidden = dw.swiglu(hidden);
            } else {
                DecoderWeights.gelu(hidden);
            }
            NativeContexts.exec(new AddOp(x, DecoderWeights.xwPlusB(hidden, blk.w2(), blk.b2()), x));
        }

        // 4) final norm, head, log-softmax (in float64 on the host), at each row's last position only
        if (s > 1) {
            int[] last = new int[batch];
            for (int b = 0; b < batch; b++) {
                last[b] = b * s + s - 1;
            }
            x = Nd4j.pullRows(x, 1, last);
        }
        INDArray logits = DecoderWeights.xwPlusB(dw.norm(x, dw.lnfGain, dw.lnfBias), dw.w.wHead(), dw.bHead);
        return HostKernels.logSoftmaxRows(HostKernels.rows(logits.castTo(DataType.FLOAT)));
    }

    /**
     * Attention of a chunk of s new tokens per row ([n, (H + 2·KV)·dh] projections) over the cache and themselves.
     * With grouped-query attention a key/value head's G = H/KV query heads attend together, as G·S query rows.
     */
    private INDArray attend(int l, INDArray qkv, int s, int length, int total, INDArray bias) {
        ModelConfig m = dw.model;
        int n = batch * s, d = m.dModel(), h = m.nHeads(), kvh = m.kvHeads(), dh = m.headDim(), group = h / kvh;
        long qd = (long) h * dh, kvd = (long) kvh * dh;
        INDArray qCols = qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(0, qd));
        INDArray kCols = qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(qd, qd + kvd));
        INDArray vCols = qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(qd + kvd, qd + 2 * kvd));
        INDArray q = heads(qCols, s, h, dh), k = heads(kCols, s, kvh, dh), v = heads(vCols, s, kvh, dh);
        INDArray[] kv = cacheChunk(l, k, v, s, length, total);
        INDArray kAll = kv[0], vAll = kv[1];
        if (group > 1) {   // [B, H, S, dh] → [B, KV, G·S, dh]: head j·G + r of q reads key/value head j
            q = q.dup('c').reshape('c', batch, kvh, (long) group * s, dh);
            if (s > 1) {
                bias = Nd4j.tile(bias, 1, 1, group, 1);
            }
        }
        INDArray scores = Nd4j.exec(new Mmul(q, kAll, 1.0 / Math.sqrt(dh), 0.0, false, true, false))[0].addi(bias);
        INDArray probs = Nd4j.exec(new SoftMax(scores, scores, 3))[0];                   // [B, KV, G·S, total]
        INDArray att = Nd4j.matmul(probs, vAll);                                          // [B, KV, G·S, dh]
        if (group > 1) {
            att = att.reshape('c', batch, h, s, dh);
        }
        return s == 1 ? att.reshape('c', n, d) : att.permute(0, 2, 1, 3).dup('c').reshape(n, d);
    }

    /** [B·S, heads·dh] projection columns as [B, heads, S, dh]: views for one token, a row-major copy for a chunk. */
    private INDArray heads(INDArray cols, int s, int heads, int dh) {
        if (s == 1) {
            return cols.reshape('c', batch, heads, 1, dh);
        }
        return cols.reshape('c', batch, s, heads, dh).permute(0, 2, 1, 3).dup('c');
    }

    /** The prompt chunk's bias [B, 1, S, total]: causal, and each row's left padding masked. */
    private INDArray causalBias(int s, int length, int total, int[] padLeft, DataType type) {
        float[] bias = new float[batch * s * total];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < s; i++) {
                int base = (b * s + i) * total;
                for (int j = 0; j < total; j++) {
                    boolean visible = j <= length + i && j >= padLeft[b];
                    bias[base + j] = visible ? 0f : (float) TransformerBlock.MASKED;
                }
            }
        }
        return Nd4j.create(bias, new long[]{batch, 1, s, total}, 'c').castTo(type);
    }

    @Override
    public DecodeSteps fork(int[] rows, int[] padLeft) {
        return new Nd4jSteps(this, rows, padLeft);
    }

    /**
     * Stores layer {@code l}'s keys and values of a chunk of s tokens per row ([B, KV, S, dh], row-major copies when
     * s > 1) at positions {@code length}..{@code total}; returns the keys and values to attend over, {kAll, vAll}.
     */
    private INDArray[] cacheChunk(int l, INDArray k, INDArray v, int s, int length, int total) {
        keys[l].get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(length, total), NDArrayIndex.all()).assign(k);
        values[l].get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(length, total), NDArrayIndex.all()).assign(v);
        return new INDArray[]{
                keys[l].get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, total), NDArrayIndex.all()),
                values[l].get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, total), NDArrayIndex.all())};
    }

    /** The additive attention bias [B, 1, 1, total] of a one-token step: each row's padded keys masked. */
    private INDArray stepBias(int total) {
        return padBias.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, total));
    }

    private static INDArray gatherRows(INDArray a, int[] rows) {
        long[] shape = a.shape();
        shape[0] = rows.length;   // gather drops the axis for a single index
        return Nd4j.exec(new Gather(a, rows, 0))[0].reshape('c', shape);
    }

    private static INDArray padBias(int[] padLeft, int capacity, DataType type) {
        float[] bias = new float[padLeft.length * capacity];
        for (int b = 0; b < padLeft.length; b++) {
            Arrays.fill(bias, b * capacity, b * capacity + padLeft[b], (float) TransformerBlock.MASKED);
        }
        return Nd4j.create(bias, new long[]{padLeft.length, 1, 1, capacity}, 'c').castTo(type);
    }
}
