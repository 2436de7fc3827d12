package org.rlsf.model.graph;

import lombok.Data;
import lombok.EqualsAndHashCode;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.impl.LossSparseMCXENT;

import java.util.Collection;

/**
 * The LM head: DL4J's {@link RnnOutputLayer} (softmax, sparse cross-entropy, NCW), with or without a bias (Hugging
 * Face models have none), and by default a hand-written training runtime ({@link Eager}).
 *
 * <p>Without a bias: M2.1's runtime layer trains such a head correctly but its {@code activate} (every inference
 * forward) adds the bias parameter regardless and fails on its absence; the runtime here answers that read with
 * zeros, which leaves the function unchanged.
 *
 * <p>{@link Eager}: DL4J's runtime computes the head's forward twice per step (once for the gradient, once for the
 * score, with 3-d ↔ 2-d copies around each) and projects padding positions too. The eager runtime projects only the
 * positions the label mask keeps, in row chunks of at most {@link EagerDpoHead#CHUNK_ELEMENTS} logits, once per step
 * (DL4J asks for the backward before the score), and computes the same score and gradients: {@code EagerBlockTest}
 * compares whole graphs against DL4J's runtime ({@code compute.kernels = "samediff"}) in float64.
 */
@Data
@EqualsAndHashCode(callSuper = true)
public class LmHead extends RnnOutputLayer {
    /** Train through {@link Eager}; absent in configurations saved before it: DL4J's runtime. */
    private boolean eager;

    public LmHead() {
        // no-arg constructor: Spark ships layer configs as JSON
    }

    /** A softmax head d → V without bias. */
    public static LmHead withoutBias(long nIn, long nOut) {
        return of(nIn, nOut, false, false);
    }

    /** A softmax head d → V, with a bias or not, trained by the eager runtime or DL4J's. */
    public static LmHead of(long nIn, long nOut, boolean bias, boolean eager) {
        LmHead h = new LmHead();
        h.setNIn(nIn);
        h.setNOut(nOut);
        h.setHasBias(bias);
        h.setLossFn(new LossSparseMCXENT());
        h.setActivationFn(Activation.SOFTMAX.getActivationFunction());
        h.setRnnDataFormat(RNNFormat.NCW);
        h.eager = eager;
        return h;
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
                             INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        Runtime ret = eager ? new Eager(conf, networkDataType) : new Runtime(conf, networkDataType);
        ret.setListeners(listeners);
        ret.setIndex(layerIndex);
        ret.setParamsViewArray(layerParamsView);
        ret.setParamTable(initializer().init(conf, layerParamsView, initializeParams));
        ret.setConf(conf);
        return ret;
    }

    /** The runtime layer: reads of the absent bias give zeros. */
    static class Runtime extends org.deeplearning4j.nn.layers.recurrent.RnnOutputLayer {
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

    /**
     * The hand-written training runtime: score Σ over kept positions of −mask·log p(label) / minibatch, gradient
     * mask·(softmax − one-hot) per position (DL4J's conventions for an RnnOutputLayer with sparse MCXENT); inference
     * ({@code activate}) stays DL4J's.
     */
    static final class Eager extends Runtime {
        private INDArray scoredInput, scoredLabels;
        /** The label mask of the last pass, by value: DL4J sets the mask again (a new array) before it asks for the score. */
        private double[] scoredKeep;
        private double loss;

        Eager(NeuralNetConfiguration conf, DataType dataType) {
            super(conf, dataType);
        }

        @Override
        public double computeScore(double fullNetRegTerm, boolean training, LayerWorkspaceMgr workspaceMgr) {
            double[] keep = keep();
            if (scoredInput != input || scoredLabels != labels || !java.util.Arrays.equals(scoredKeep, keep)) {
                pass(false, keep);
            }
            score = loss / input.size(0) + fullNetRegTerm;
            return score;
        }

        @Override
        public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
            assertInputSet(true);
            INDArray dx = pass(true, keep());
            long mb = input.size(0), d = input.size(1), t = input.size(2);
            Gradient g = new DefaultGradient();
            g.gradientForVariable().put("W", gradientViews.get("W"));
            if (layerConf().hasBias()) {
                g.gradientForVariable().put("b", gradientViews.get("b"));
            }
            INDArray eps = dx.reshape('c', mb, t, d).permute(0, 2, 1);
            return new Pair<>(g, workspaceMgr.dup(ArrayType.ACTIVATION_GRAD, eps));
        }

        /**
         * The kept positions projected to the vocabulary a chunk at a time: the loss, and with {@code gradients} the
         * weight and bias gradients (into their views) and dL/dx as [mb·T, d] rows (else null).
         */
        private INDArray pass(boolean gradients, double[] keep) {
            long mb = input.size(0), d = input.size(1), t = input.size(2), v = layerConf().getNOut();
            INDArray x = HeadKernels.asRows(input);
            double[] ids = labels.reshape('c', 1, mb * t).toDoubleVector();   // labels [mb, 1, T]: class indices
            int kept = 0;
            int[] flat = new int[(int) (mb * t)];
            for (int i = 0; i < flat.length; i++) {
                if (keep == null || keep[i] != 0) {
                    flat[kept++] = i;
                }
            }
            INDArray w = getParam("W"), b = layerConf().hasBias() ? getParam("b") : null;
            INDArray dW = null, dB = null, dx = null;
            if (gradients) {
                dW = gradientViews.get("W").assign(0);
                dB = b == null ? null : gradientViews.get("b").assign(0);
                dx = Nd4j.zeros(input.dataType(), mb * t, d);
            }
            int chunk = EagerDpoHead.chunkRows(v, EagerDpoHead.CHUNK_ELEMENTS);
            double sum = 0;
            for (int from = 0; from < kept; from += chunk) {
                int to = Math.min(kept, from + chunk);
                int[] at = java.util.Arrays.copyOfRange(flat, from, to), cls = new int[to - from];
                double[] weight = new double[to - from];
                for (int k = 0; k < cls.length; k++) {
                    cls[k] = (int) ids[at[k]];
                    weight[k] = keep == null ? 1 : keep[at[k]];
                }
                INDArray xc = Nd4j.pullRows(x, 1, at);
                HeadKernels.LabelChunk c = HeadKernels.labelChunk(xc, w, b, cls, gradients);
                for (int k = 0; k < cls.length; k++) {
                    sum -= weight[k] * c.logProbs()[k];
                }
                if (gradients) {
                    INDArray g = c.softmaxMinusOneHot();
                    if (keep != null) {
                        g.muliColumnVector(Nd4j.createFromArray(weight).castTo(g.dataType()).reshape(weight.length, 1));
                    }
                    Matmul.gemm(xc, true, g, false, dW, 1.0, 1.0);                               // dW += xᵀ·g
                    if (dB != null) {
                        EagerBlockLayer.columnSums(g, dB, 1.0);                                  // dB += Σ rows of g
                    }
                    HeadKernels.scatterAdd(dx, at, Matmul.timesTransposed(g, w));               // dx rows += g·Wᵀ
                }
            }
            loss = sum;
            scoredInput = input;
            scoredLabels = labels;
            scoredKeep = keep;
            return dx;
        }

        /** The label mask as weights per (b, t) row-major position, or null without a mask. */
        private double[] keep() {
            if (maskArray == null) {
                return null;
            }
            long mb = input.size(0), t = input.size(2);
            // DL4J's setMaskArray keeps the [mb, T] label mask as a time-major [mb·T, 1] column (its 'f' order)
            INDArray mask = maskArray.rank() == 2 && maskArray.size(0) == mb && maskArray.size(1) == t
                    ? maskArray : maskArray.reshape('f', mb, t);
            return mask.dup('c').reshape('c', 1, mb * t).toDoubleVector();
        }

        @Override
        public void clear() {
            super.clear();
            scoredInput = null;
            scoredLabels = null;
            scoredKeep = null;
        }
    }
}
