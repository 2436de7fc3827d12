package org.rlsf.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.graph.TransformerBlock;

/**
 * A chunk's forward pass in ND4J operations (embeddings, fused LayerNorm and affine maps, batched attention, head,
 * log-softmax on the host). What differs between caches is where a chunk's keys and values go
 * ({@link #cacheChunk}) and the attention bias of a one-token step ({@link #stepBias}).
 */
abstract class Nd4jForward implements DecodeSteps {
    final DecoderWeights dw;
    final int batch;

    Nd4jForward(DecoderWeights dw, int batch) {
        this.dw = dw;
        this.batch = batch;
    }

    /**
     * Stores layer {@code l}'s keys and values of a chunk of s tokens per row ([B, KV, S, dh], row-major copies when
     * s > 1) at positions {@code length}..{@code total}.
     *
     * @return the keys and values to attend over, {@code {kAll, vAll}}
     */
    abstract INDArray[] cacheChunk(int l, INDArray k, INDArray v, int s, int length, int total);

    /** The additive attention bias [B, 1, 1, total] of a one-token step: each row's padded keys masked. */
    abstract INDArray stepBias(int total);

    /** The chunk's forward in ND4J ops; the caller holds the step workspace open. */
    final float[][] forwardNd4j(int[][] chunk, int length, int[] padLeft) {
        ModelConfig model = dw.model;
        int s = chunk[0].length;
        int n = batch * s, total = length + s;

        // 1) token + position embeddings, rows ordered (b, s)
        int[] ids = new int[n];
        int[] pos = new int[n];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < s; i++) {
                ids[b * s + i] = chunk[b][i];
                pos[b * s + i] = Math.max(0, length + i - padLeft[b]);
            }
        }
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
}
