package org.rlsf.model.graph;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import lombok.Data;
import lombok.EqualsAndHashCode;

import java.util.Collection;
import java.util.Map;

/**
 * Base of our SameDiff layers. DL4J 1.0.0-M2.1's runtime {@code SameDiffLayer} returns exactly twice
 * the gradient it should (2×, 4×, 8× down a stack; see docs/model.md, "DL4J / dl4j-spark issues we work around"). The runtime
 * layer created here halves the incoming epsilon, which makes parameter gradients and the gradient
 * passed down exact. {@code GradientCheckTest} fails if the workaround stops being right.
 */
@Data
@EqualsAndHashCode(callSuper = true)
public abstract class CorrectedSameDiffLayer extends SameDiffLayer {
    /**
     * Run the layer through DL4J's SameDiff execution of its {@code defineLayer} graph (the reference) instead of its
     * eager runtime ({@link #eagerRuntime}). Same function and parameters, different float rounding and about twice
     * the work per training step. Absent in older saved configurations, which load as eager.
     */
    private boolean sameDiffKernels;

    /** This layer with {@link #isSameDiffKernels()} set (for building graphs). */
    public CorrectedSameDiffLayer withSameDiffKernels(boolean sameDiff) {
        this.sameDiffKernels = sameDiff;
        return this;
    }

    protected CorrectedSameDiffLayer() {
        // no-arg constructor: Spark ships layer configs as JSON
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> trainingListeners,
                             int layerIndex, INDArray layerParamsView, boolean initializeParams,
                             DataType networkDataType) {
        org.deeplearning4j.nn.layers.samediff.SameDiffLayer ret = runtimeLayer(conf, networkDataType);
        ret.setIndex(layerIndex);
        ret.setParamsViewArray(layerParamsView);
        Map<String, INDArray> paramTable = initializer().init(conf, layerParamsView, initializeParams);
        ret.setParamTable(paramTable);
        ret.setConf(conf);
        return ret;
    }

    /** The runtime layer: the eager one, or DL4J's SameDiff execution with the gradient correction below. */
    private org.deeplearning4j.nn.layers.samediff.SameDiffLayer runtimeLayer(NeuralNetConfiguration conf,
                                                                             DataType networkDataType) {
        return sameDiffKernels ? sameDiffRuntime(conf, networkDataType) : eagerRuntime(conf, networkDataType);
    }

    /** DL4J's SameDiff execution of {@code defineLayer} with the gradient correction. */
    protected HalvedEpsilonLayer sameDiffRuntime(NeuralNetConfiguration conf, DataType networkDataType) {
        return new HalvedEpsilonLayer(conf, networkDataType);
    }

    /** The hand-written runtime computing the same function as {@code defineLayer}. */
    protected abstract org.deeplearning4j.nn.layers.samediff.SameDiffLayer eagerRuntime(NeuralNetConfiguration conf,
                                                                                        DataType networkDataType);

    /** The runtime layer with the 0.5 correction on the incoming gradient. */
    public static class HalvedEpsilonLayer extends org.deeplearning4j.nn.layers.samediff.SameDiffLayer {
        public HalvedEpsilonLayer(NeuralNetConfiguration conf, DataType dataType) {
            super(conf, dataType);
        }

        @Override
        public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
            return super.backpropGradient(epsilon.mul(0.5), workspaceMgr);
        }
    }
}
