package org.rlsf.model.graph;

import lombok.Data;
import lombok.EqualsAndHashCode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffOutputLayer;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * The LM head with a preference loss, for DPO in a ComputationGraph. Same parameters as the LM's
 * {@code RnnOutputLayer} head ({@code W} [d, V], {@code b} [1, V]), so weights move between the two
 * graphs by name. Rows 2i and 2i+1 of a minibatch are the chosen and the rejected sequence of pair i.
 * <p>
 * Labels [mb, 3, T]: channel 0 the next-token id; channel 1 the sign of the position in h (+1 on the
 * chosen row's response tokens, −1 on the rejected row's, 0 on prompt and padding); channel 2 the
 * signed reference log-prob (the row's summed reference log-prob at its first response position, 0
 * elsewhere). Per row d = Σ_t sign·log p_θ(y_t) − Σ_t ref; per pair h = d_chosen + d_rejected
 * = [log π_θ(y_w) − log π_ref(y_w)] − [log π_θ(y_l) − log π_ref(y_l)].
 * <p>
 * Loss (method.md §1.6): DPO {@code −(1−ε)·log σ(βh) − ε·log σ(−βh)} = (1−ε)·softplus(−βh) + ε·softplus(βh),
 * or IPO {@code (h − 1/(2β))²}. The graph returns 2·Σ over pairs: DL4J divides the score and the
 * gradients by the minibatch size (2 × pairs), which leaves the mean over pairs.
 * <p>
 * Activations (what {@code output()} returns): the softmax over the vocabulary, [mb, V, T], as the
 * LM head gives, so metrics and generation read the same thing from both graphs.
 */
@Data
@EqualsAndHashCode(callSuper = false)
public class DpoOutputLayer extends SameDiffOutputLayer {
    public static final String WEIGHT = "W";
    public static final String BIAS = "b";
    public static final String DPO = "dpo";
    public static final String IPO = "ipo";
    private static final String ACTIVATIONS = "probs";

    private int dModel;
    private int vocabSize;
    private int seqLen;
    private double beta;
    private double labelSmoothing;
    private String lossType = DPO;
    /** The head has a bias (rlsf's own model; Hugging Face heads have none). Absent in older configurations: true. */
    private boolean hasBias = true;
    /** Run the SameDiff graph (the reference) instead of {@link EagerDpoHead}; absent in older configurations: eager. */
    private boolean sameDiffKernels;
    /** Logit values the eager head computes at once (rows × vocabulary). */
    private int chunkElements = EagerDpoHead.CHUNK_ELEMENTS;

    public DpoOutputLayer() {
        // no-arg constructor: Spark ships layer configs as JSON
    }

    public DpoOutputLayer(int dModel, int vocabSize, int seqLen, double beta, double labelSmoothing, String lossType) {
        if (beta <= 0) {
            throw new IllegalArgumentException("beta must be > 0, was " + beta);
        }
        if (labelSmoothing < 0 || labelSmoothing >= 0.5) {
            throw new IllegalArgumentException("label smoothing epsilon must be in [0, 0.5), was " + labelSmoothing);
        }
        if (!DPO.equals(lossType) && !IPO.equals(lossType)) {
            throw new IllegalArgumentException("loss must be dpo or ipo, was " + lossType);
        }
        this.dModel = dModel;
        this.vocabSize = vocabSize;
        this.seqLen = seqLen;
        this.beta = beta;
        this.labelSmoothing = labelSmoothing;
        this.lossType = lossType;
    }

    /** This head with {@link #isSameDiffKernels()} set. */
    public DpoOutputLayer withSameDiffKernels(boolean sameDiff) {
        this.sameDiffKernels = sameDiff;
        return this;
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(org.deeplearning4j.nn.conf.NeuralNetConfiguration conf,
                                                       java.util.Collection<org.deeplearning4j.optimize.api.TrainingListener> listeners,
                                                       int layerIndex, INDArray view, boolean initializeParams,
                                                       DataType networkDataType) {
        if (sameDiffKernels) {
            return super.instantiate(conf, listeners, layerIndex, view, initializeParams, networkDataType);
        }
        EagerDpoHead ret = new EagerDpoHead(conf, networkDataType);
        ret.setIndex(layerIndex);
        ret.setParamsViewArray(view);
        ret.setParamTable(initializer().init(conf, view, initializeParams));
        ret.setConf(conf);
        return ret;
    }

    /** This head computing at most {@code elements} logits at once. */
    public DpoOutputLayer withChunkElements(int elements) {
        this.chunkElements = elements;
        return this;
    }

    /** This head without a bias. */
    public DpoOutputLayer withoutBias() {
        this.hasBias = false;
        return this;
    }

    @Override
    public SDVariable defineLayer(SameDiff sd, SDVariable x, SDVariable labels, Map<String, SDVariable> p) {
        SDVariable logProbs = SdOps.headLogProbs(sd, x, p.get(WEIGHT), hasBias ? p.get(BIAS) : null, dModel, seqLen,
                vocabSize, ACTIVATIONS);                                                  // [mb, T, V]
        SDVariable sign = labels.get(SDIndex.all(), SDIndex.point(1), SDIndex.all());     // [mb, T]
        SDVariable ref = labels.get(SDIndex.all(), SDIndex.point(2), SDIndex.all());
        SDVariable tokenLogp = SdOps.labelLogProbs(sd, logProbs, labels, vocabSize);
        SDVariable perRow = tokenLogp.mul(sign).sum(1).sub(ref.sum(1));                  // [mb]
        SDVariable h = perRow.reshape(-1, 2).sum(1);                                      // [pairs]
        SDVariable perPair;
        if (IPO.equals(lossType)) {
            SDVariable dev = h.sub(1.0 / (2 * beta));
            perPair = dev.mul(dev);
        } else {
            perPair = sd.nn.softplus(h.mul(-beta)).mul(1 - labelSmoothing);
            if (labelSmoothing > 0) {
                perPair = perPair.add(sd.nn.softplus(h.mul(beta)).mul(labelSmoothing));
            }
        }
        SDVariable loss = perPair.sum().mul(2.0);
        loss.markAsLoss();
        return loss;
    }

    @Override
    public String activationsVertexName() {
        return ACTIVATIONS;
    }

    @Override
    public void defineParameters(SDLayerParams params) {
        params.addWeightParam(WEIGHT, dModel, vocabSize);
        if (hasBias) {
            params.addBiasParam(BIAS, 1, vocabSize);
        }
    }

    @Override
    public void initializeParameters(Map<String, INDArray> params) {
        // DPO always starts from a trained LM head (copied in by name); a plain init keeps it usable alone
        INDArray w = params.get(WEIGHT);
        w.assign(org.nd4j.linalg.factory.Nd4j.randn(w.dataType(), w.shape()).muli(0.02));
        if (hasBias) {
            params.get(BIAS).assign(0);
        }
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        return InputType.recurrent(vocabSize, seqLen);
    }
}
