package org.rlsf.model.graph;

import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * SameDiff building blocks shared by the layers. Written out by hand (not {@code sd.nn.layerNorm} /
 * {@code gelu}) so that the eager KV-cache path ({@code KvCacheDecoder}) computes exactly the same
 * functions, and because each piece is covered by the double-precision gradient check.
 */
final class SdOps {
    private SdOps() {
    }

    /** LayerNorm over the last dimension: (x − mean) / sqrt(var + eps) · gain + bias. */
    static SDVariable layerNorm(SDVariable x, SDVariable gain, SDVariable bias, double eps, int lastDim) {
        SDVariable mean = x.mean(true, lastDim);
        SDVariable centred = x.sub(mean);
        SDVariable variance = centred.mul(centred).mean(true, lastDim);
        // pow(-0.5) rather than div(sqrt): M2.1's div-by-variable gradient is wrong (a DL4J M2.1 bug)
        SDVariable normed = centred.mul(variance.add(eps).pow(-0.5));
        return normed.mul(gain).add(bias);
    }

    /** RMSNorm over the last dimension (Llama's): x / sqrt(mean(x²) + eps) · gain. */
    static SDVariable rmsNorm(SDVariable x, SDVariable gain, double eps, int lastDim) {
        return x.mul(x.mul(x).mean(true, lastDim).add(eps).pow(-0.5)).mul(gain);
    }

    /**
     * The LM head's log-softmax over the vocabulary, [mb, T, V], from the final norm's output {@code x} [mb, d, T]
     * ({@code b} null for a head without bias); the softmax itself is also written as {@code activations} [mb, V, T].
     */
    static SDVariable headLogProbs(SameDiff sd, SDVariable x, SDVariable w, SDVariable b, int dModel, int seqLen,
                                   int vocabSize, String activations) {
        SDVariable flat = x.permute(0, 2, 1).reshape(-1, dModel).mmul(w);
        SDVariable logits = (b != null ? flat.add(b) : flat).reshape(-1, seqLen, vocabSize);   // [mb, T, V]
        SDVariable shifted = logits.sub(logits.max(true, 2));
        SDVariable logProbs = shifted.sub(sd.math.log(sd.math.exp(shifted).sum(true, 2)));
        sd.permute(activations, sd.math.exp(logProbs), 0, 2, 1);
        return logProbs;
    }

    /** log p of each position's label id (channel 0 of {@code labels} [mb, C, T]): [mb, T]. */
    static SDVariable labelLogProbs(SameDiff sd, SDVariable logProbs, SDVariable labels, int vocabSize) {
        SDVariable ids = labels.get(SDIndex.all(), SDIndex.point(0),
                SDIndex.all()).castTo(DataType.INT);
        return sd.oneHot(ids, vocabSize, 2, 1.0, 0.0, logProbs.dataType()).mul(logProbs).sum(2);
    }

    /** GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
    static SDVariable gelu(SameDiff sd, SDVariable x) {
        SDVariable inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2.0 / Math.PI));
        return x.mul(0.5).mul(sd.math.tanh(inner).add(1.0));
    }
}
