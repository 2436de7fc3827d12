package org.rlsf.model.graph;

import lombok.Data;
import lombok.EqualsAndHashCode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

/**
 * Adds a learned absolute position embedding. Parameter {@code wpe}: [contextLength, d]; the graph
 * uses rows 0..seqLen-1, so one set of weights serves graphs of any length up to the context.
 * Input and output: [mb, d, seqLen].
 */
@Data
@EqualsAndHashCode(callSuper = true)
public class PositionEmbedding extends CorrectedSameDiffLayer {
    public static final String WPE = "wpe";
    private int dModel;
    private int contextLength;
    private int seqLen;
    private double initStd;

    public PositionEmbedding() {
    }

    public PositionEmbedding(int dModel, int contextLength, int seqLen, double initStd) {
        this.dModel = dModel;
        this.contextLength = contextLength;
        this.seqLen = seqLen;
        this.initStd = initStd;
    }

    @Override
    protected org.deeplearning4j.nn.layers.samediff.SameDiffLayer eagerRuntime(
            org.deeplearning4j.nn.conf.NeuralNetConfiguration conf, org.nd4j.linalg.api.buffer.DataType networkDataType) {
        return new EagerEdgeLayers.Position(conf, networkDataType);
    }

    @Override
    public void defineParameters(SDLayerParams params) {
        params.addWeightParam(WPE, contextLength, dModel);
    }

    @Override
    public void initializeParameters(Map<String, INDArray> params) {
        INDArray wpe = params.get(WPE);
        wpe.assign(Nd4j.randn(wpe.dataType(), wpe.shape()).muli(initStd));
    }

    @Override
    public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
        SDVariable rows = seqLen == contextLength ? p.get(WPE)
                : p.get(WPE).get(SDIndex.interval(0, seqLen), SDIndex.all());   // [T, d]
        return x.add(rows.permute(1, 0));                                        // [mb, d, T] + [d, T]
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        return InputType.recurrent(dModel, seqLen);
    }
}
