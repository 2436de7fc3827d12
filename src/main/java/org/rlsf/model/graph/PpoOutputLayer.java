package org.rlsf.model.graph;

import lombok.Data;
import lombok.EqualsAndHashCode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffOutputLayer;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * The LM head with PPO's clipped surrogate (method.md §6.2), for the policy update of RLSF-PPO in a ComputationGraph
 * trained by the same dl4j-spark parameter averaging as DPO. Same parameters as the LM head ({@code W} [d, V],
 * {@code b} [1, V] when the head has a bias), so weights move between the graphs by name.
 * <p>
 * Labels [mb, 4, T], in the LM layout (position t predicts token t + 1): channel 0 the next-token id; channel 1 the
 * mask, 1 where the predicted token is a response token; channel 2 the token's log-prob under the policy that sampled
 * it (π_old); channel 3 its whitened advantage A. Per masked token ρ = exp(log π_θ − log π_old) and the loss is
 * {@code −min(ρA, clip(ρ, 1−ε, 1+ε)·A)}, averaged over the minibatch's masked tokens (the graph returns mb × that
 * mean: DL4J divides by the minibatch size).
 * <p>
 * Activations: the softmax over the vocabulary, [mb, V, T], as the LM head gives.
 */
@Data
@EqualsAndHashCode(callSuper = false)
public class PpoOutputLayer extends SameDiffOutputLayer {
    public static final String WEIGHT = "W";
    public static final String BIAS = "b";
    private static final String ACTIVATIONS = "probs";

    private int dModel;
    private int vocabSize;
    private int seqLen;
    private double clipEpsilon;
    /** The head has a bias (rlsf's own model; Hugging Face heads have none). */
    private boolean hasBias = true;

    public PpoOutputLayer() {
        // no-arg constructor: Spark ships layer configs as JSON
    }

    public PpoOutputLayer(int dModel, int vocabSize, int seqLen, double clipEpsilon) {
        if (!(clipEpsilon > 0 && clipEpsilon < 1)) {
            throw new IllegalArgumentException("PPO clip epsilon must be in (0, 1), was " + clipEpsilon);
        }
        this.dModel = dModel;
        this.vocabSize = vocabSize;
        this.seqLen = seqLen;
        this.clipEpsilon = clipEpsilon;
    }

    /** This head without a bias. */
    public PpoOutputLayer withoutBias() {
        this.hasBias = false;
        return this;
    }

    @Override
    public SDVariable defineLayer(SameDiff sd, SDVariable x, SDVariable labels, Map<String, SDVariable> p) {
        SDVariable logProbs = SdOps.headLogProbs(sd, x, p.get(WEIGHT), hasBias ? p.get(BIAS) : null, dModel, seqLen,
                vocabSize, ACTIVATIONS);                                                  // [mb, T, V]
        SDVariable mask = labels.get(SDIndex.all(), SDIndex.point(1), SDIndex.all());         // [mb, T]
        SDVariable oldLogp = labels.get(SDIndex.all(), SDIndex.point(2), SDIndex.all());
        SDVariable advantage = labels.get(SDIndex.all(), SDIndex.point(3), SDIndex.all());
        SDVariable logp = SdOps.labelLogProbs(sd, logProbs, labels, vocabSize);                // [mb, T]
        SDVariable ratio = sd.math.exp(logp.sub(oldLogp).mul(mask));                         // 1 off the response
        // −min(ρA, clip(ρ)A) without a min over two equal branches (inside the range both are ρA, and a min's
        // backward pass would count the gradient twice): A > 0 → −min(ρ, 1+ε)·A; A ≤ 0 → −max(ρ, 1−ε)·A
        SDVariable positive = sd.math.step(advantage, 0.0);
        SDVariable upper = sd.math.clipByValue(ratio, 0.0, 1 + clipEpsilon);
        SDVariable lower = sd.math.clipByValue(ratio, 1 - clipEpsilon, Float.MAX_VALUE);
        SDVariable effective = upper.mul(positive).add(lower.mul(positive.rsub(1.0)));
        SDVariable surrogate = effective.mul(advantage).neg().mul(mask);
        SDVariable rows = x.shape().get(SDIndex.point(0)).castTo(surrogate.dataType());
        SDVariable loss = surrogate.sum().mul(rows).div(mask.sum());
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
        // PPO always starts from a trained LM head (copied in by name); a plain init keeps it usable alone
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
