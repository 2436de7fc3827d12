package org.rlsf.model.graph;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

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

    /** GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
    static SDVariable gelu(SameDiff sd, SDVariable x) {
        SDVariable inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2.0 / Math.PI));
        return x.mul(0.5).mul(sd.math.tanh(inner).add(1.0));
    }
}
