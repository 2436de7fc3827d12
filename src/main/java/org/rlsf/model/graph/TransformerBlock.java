package org.rlsf.model.graph;

import lombok.Data;
import lombok.EqualsAndHashCode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

/**
 * One pre-norm transformer block: x + Attn(LN1(x)), then + MLP(LN2(x)). Causal multi-head
 * self-attention with a constant −1e9 bias above the diagonal (−inf would give NaN rows).
 * Right padding needs no key mask: a real token never attends to the padding after it.
 * Input and output: [mb, d, T].
 *
 * <p>Parameters (weights stored [in, out], biases and norm gains [1, n]; no underscores in the
 * names: DL4J's updater splits gradient keys at the last '_'):
 * ln1g, ln1b, wqkv [d, 3d], bqkv, wo [d, d], bo, ln2g, ln2b, w1 [d, dFf], b1, w2 [dFf, d], b2.
 * The q/k/v column blocks of wqkv are [q | k | v], head h using columns h·dh … (h+1)·dh−1 of each.
 */
@Data
@EqualsAndHashCode(callSuper = true)
public class TransformerBlock extends CorrectedSameDiffLayer {
    public static final String LN1_G = "ln1g", LN1_B = "ln1b", W_QKV = "wqkv", B_QKV = "bqkv",
            W_O = "wo", B_O = "bo", LN2_G = "ln2g", LN2_B = "ln2b", W_1 = "w1", B_1 = "b1",
            W_2 = "w2", B_2 = "b2";
    public static final double MASKED = -1e9;

    private int dModel;
    private int nHeads;
    private int dFf;
    private int seqLen;
    private int nLayers;
    private double eps;
    private double initStd;
    public TransformerBlock() {
    }

    @Override
    protected org.deeplearning4j.nn.layers.samediff.SameDiffLayer eagerRuntime(NeuralNetConfiguration conf,
                                                                               DataType networkDataType) {
        return new EagerBlockLayer(conf, networkDataType);
    }

    public TransformerBlock(int dModel, int nHeads, int dFf, int seqLen, int nLayers, double eps, double initStd) {
        this.dModel = dModel;
        this.nHeads = nHeads;
        this.dFf = dFf;
        this.seqLen = seqLen;
        this.nLayers = nLayers;
        this.eps = eps;
        this.initStd = initStd;
    }

    @Override
    public void defineParameters(SDLayerParams params) {
        params.addBiasParam(LN1_G, 1, dModel);
        params.addBiasParam(LN1_B, 1, dModel);
        params.addWeightParam(W_QKV, dModel, 3L * dModel);
        params.addBiasParam(B_QKV, 1, 3L * dModel);
        params.addWeightParam(W_O, dModel, dModel);
        params.addBiasParam(B_O, 1, dModel);
        params.addBiasParam(LN2_G, 1, dModel);
        params.addBiasParam(LN2_B, 1, dModel);
        params.addWeightParam(W_1, dModel, dFf);
        params.addBiasParam(B_1, 1, dFf);
        params.addWeightParam(W_2, dFf, dModel);
        params.addBiasParam(B_2, 1, dModel);
    }

    @Override
    public void initializeParameters(Map<String, INDArray> params) {
        // GPT-2 initialisation: N(0, std), residual projections scaled by 1/sqrt(2·layers)
        double residualStd = initStd / Math.sqrt(2.0 * nLayers);
        for (Map.Entry<String, INDArray> e : params.entrySet()) {
            INDArray a = e.getValue();
            switch (e.getKey()) {
                case LN1_G, LN2_G -> a.assign(1.0);
                case W_QKV, W_1 -> a.assign(Nd4j.randn(a.dataType(), a.shape()).muli(initStd));
                case W_O, W_2 -> a.assign(Nd4j.randn(a.dataType(), a.shape()).muli(residualStd));
                default -> a.assign(0.0);
            }
        }
    }

    @Override
    public SDVariable defineLayer(SameDiff sd, SDVariable input, Map<String, SDVariable> p, SDVariable mask) {
        int d = dModel, h = nHeads, dh = dModel / nHeads, t = seqLen;
        SDVariable x = input.permute(0, 2, 1);                                              // [mb, T, d]

        // 1) attention on the normed input
        SDVariable a = SdOps.layerNorm(x, p.get(LN1_G), p.get(LN1_B), eps, 2).reshape(-1, d);   // [mb·T, d]
        SDVariable qkv = a.mmul(p.get(W_QKV)).add(p.get(B_QKV));                            // [mb·T, 3d]
        SDVariable q = heads(qkv.get(SDIndex.all(), SDIndex.interval(0, d)), t, h, dh);        // [mb, H, T, dh]
        SDVariable k = heads(qkv.get(SDIndex.all(), SDIndex.interval(d, 2 * d)), t, h, dh);
        SDVariable v = heads(qkv.get(SDIndex.all(), SDIndex.interval(2 * d, 3 * d)), t, h, dh);
        SDVariable scores = sd.mmul(q, k, false, true, false).mul(1.0 / Math.sqrt(dh));      // [mb, H, T, T]
        SDVariable causal = sd.constant(causalBias(t, input.dataType()));                    // [T, T]
        SDVariable probs = sd.nn.softmax(scores.add(causal), 3);
        SDVariable att = sd.mmul(probs, v)                                                  // [mb, H, T, dh]
                .permute(0, 2, 1, 3).reshape(-1, d);                                        // [mb·T, d]
        SDVariable attOut = att.mmul(p.get(W_O)).add(p.get(B_O)).reshape(-1, t, d);
        SDVariable x1 = x.add(attOut);                                                       // residual

        // 2) MLP on the normed residual stream
        SDVariable m = SdOps.layerNorm(x1, p.get(LN2_G), p.get(LN2_B), eps, 2).reshape(-1, d);
        SDVariable hidden = SdOps.gelu(sd, m.mmul(p.get(W_1)).add(p.get(B_1)));              // [mb·T, dFf]
        SDVariable mlpOut = hidden.mmul(p.get(W_2)).add(p.get(B_2)).reshape(-1, t, d);
        return x1.add(mlpOut).permute(0, 2, 1);                                             // [mb, d, T]
    }

    private static SDVariable heads(SDVariable flat, int t, int h, int dh) {
        return flat.reshape(-1, t, h, dh).permute(0, 2, 1, 3);
    }

    /** [T, T] additive mask: 0 on and below the diagonal, −1e9 above it. */
    static INDArray causalBias(int t, DataType type) {
        INDArray bias = Nd4j.zeros(type, t, t);
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) {
                bias.putScalar(i, j, MASKED);
            }
        }
        return bias;
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        return InputType.recurrent(dModel, seqLen);
    }
}
