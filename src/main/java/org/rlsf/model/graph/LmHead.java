package org.rlsf.model.graph;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.impl.LossSparseMCXENT;

import java.util.Collection;

/**
 * The LM head without a bias (Hugging Face models have none): DL4J's {@link RnnOutputLayer} (softmax, sparse
 * cross-entropy, NCW) with {@code hasBias = false}. M2.1's runtime layer trains such a head correctly but its
 * {@code activate} (every inference forward) adds the bias parameter regardless and fails on its absence; the runtime
 * here answers that read with zeros, which leaves the function unchanged.
 */
public class LmHead extends RnnOutputLayer {
    public LmHead() {
        // no-arg constructor: Spark ships layer configs as JSON
    }

    /** A softmax head d → V without bias. */
    public static LmHead withoutBias(long nIn, long nOut) {
        LmHead h = new LmHead();
        h.setNIn(nIn);
        h.setNOut(nOut);
        h.setHasBias(false);
        h.setLossFn(new LossSparseMCXENT());
        h.setActivationFn(Activation.SOFTMAX.getActivationFunction());
        h.setRnnDataFormat(RNNFormat.NCW);
        return h;
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
                             INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        Runtime ret = new Runtime(conf, networkDataType);
        ret.setListeners(listeners);
        ret.setIndex(layerIndex);
        ret.setParamsViewArray(layerParamsView);
        ret.setParamTable(initializer().init(conf, layerParamsView, initializeParams));
        ret.setConf(conf);
        return ret;
    }

    /** The runtime layer: reads of the absent bias give zeros. */
    static final class Runtime extends org.deeplearning4j.nn.layers.recurrent.RnnOutputLayer {
        private INDArray zeros;

        Runtime(NeuralNetConfiguration conf, DataType dataType) {
            super(conf, dataType);
        }

        @Override
        protected INDArray getParamWithNoise(String param, boolean training, LayerWorkspaceMgr workspaceMgr) {
            if ("b".equals(param) && !layerConf().hasBias()) {
                INDArray w = getParam("W");
                if (zeros == null || zeros.dataType() != w.dataType()) {
                    try (var ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                        zeros = Nd4j.zeros(w.dataType(), 1, w.size(1));
                    }
                }
                return zeros;
            }
            return super.getParamWithNoise(param, training, workspaceMgr);
        }
    }
}
