package org.rlsf.model.graph;

import lombok.Data;
import lombok.EqualsAndHashCode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * The norm after the last block: LayerNorm (params {@code g}, {@code b}: [1, d]) or RMSNorm ({@code g} only). Input
 * and output: [mb, d, T].
 */
@Data
@EqualsAndHashCode(callSuper = true)
public class FinalLayerNorm extends CorrectedSameDiffLayer {
    public static final String GAIN = "g";
    public static final String BIAS = "b";
    private int dModel;
    private int seqLen;
    private double eps;
    /** RMSNorm instead of LayerNorm (absent in configurations saved before it: LayerNorm). */
    private boolean rms;

    public FinalLayerNorm() {
    }

    /** This norm as RMSNorm. */
    public FinalLayerNorm withRms(boolean rms) {
        this.rms = rms;
        return this;
    }

    public FinalLayerNorm(int dModel, int seqLen, double eps) {
        this.dModel = dModel;
        this.seqLen = seqLen;
        this.eps = eps;
    }

    @Override
    protected org.deeplearning4j.nn.layers.samediff.SameDiffLayer eagerRuntime(
            org.deeplearning4j.nn.conf.NeuralNetConfiguration conf, org.nd4j.linalg.api.buffer.DataType networkDataType) {
        return new EagerEdgeLayers.FinalNorm(conf, networkDataType);
    }

    @Override
    public void defineParameters(SDLayerParams params) {
        params.addBiasParam(GAIN, 1, dModel);
        if (!rms) {
            params.addBiasParam(BIAS, 1, dModel);
        }
    }

    @Override
    public void initializeParameters(Map<String, INDArray> params) {
        params.get(GAIN).assign(1.0);
        if (!rms) {
            params.get(BIAS).assign(0.0);
        }
    }

    @Override
    public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
        SDVariable xt = x.permute(0, 2, 1);                                       // [mb, T, d]
        SDVariable normed = rms ? SdOps.rmsNorm(xt, p.get(GAIN), eps, 2) : SdOps.layerNorm(xt, p.get(GAIN), p.get(BIAS), eps, 2);
        return normed.permute(0, 2, 1);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        return InputType.recurrent(dModel, seqLen);
    }
}
