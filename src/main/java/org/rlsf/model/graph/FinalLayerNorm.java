package org.rlsf.model.graph;

import lombok.Data;
import lombok.EqualsAndHashCode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/** LayerNorm after the last block. Input and output: [mb, d, T]. Params {@code g}, {@code b}: [1, d]. */
@Data
@EqualsAndHashCode(callSuper = true)
public class FinalLayerNorm extends CorrectedSameDiffLayer {
    public static final String GAIN = "g";
    public static final String BIAS = "b";
    private int dModel;
    private int seqLen;
    private double eps;

    public FinalLayerNorm() {
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
        params.addBiasParam(BIAS, 1, dModel);
    }

    @Override
    public void initializeParameters(Map<String, INDArray> params) {
        params.get(GAIN).assign(1.0);
        params.get(BIAS).assign(0.0);
    }

    @Override
    public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
        SDVariable xt = x.permute(0, 2, 1);                                       // [mb, T, d]
        return SdOps.layerNorm(xt, p.get(GAIN), p.get(BIAS), eps, 2).permute(0, 2, 1);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        return InputType.recurrent(dModel, seqLen);
    }
}
