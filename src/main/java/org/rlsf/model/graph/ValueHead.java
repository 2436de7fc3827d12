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
 * RLSF-PPO's value model head (method.md §6.2): one scalar per position, {@code V_t = h_t · W + b}, with the same
 * parameters as {@link RewardHead} so the value model starts as a copy of the reward model. Positions follow the LM
 * layout: V_t is the value of the state whose next token is the sequence's token t + 1.
 * <p>
 * Labels [mb, 3, T]: channel 0 the mask (1 where the next token is a response token); channel 1 the value the rollout
 * recorded (V_old); channel 2 the return R. Per masked token the loss is PPO's clipped value loss
 * {@code ½·max((V − R)², (clip(V, V_old − c, V_old + c) − R)²)}, averaged over the minibatch's masked tokens (the graph
 * returns mb × that mean: DL4J divides by the minibatch size).
 * <p>
 * Activations: the value at every position, [mb, 1, T].
 */
@Data
@EqualsAndHashCode(callSuper = false)
public class ValueHead extends SameDiffOutputLayer {
    private static final String ACTIVATIONS = "values";

    private int dModel;
    private int seqLen;
    private double valueClip;

    public ValueHead() {
        // no-arg constructor: Spark ships layer configs as JSON
    }

    public ValueHead(int dModel, int seqLen, double valueClip) {
        if (!(valueClip > 0)) {
            throw new IllegalArgumentException("value clip must be > 0, was " + valueClip);
        }
        this.dModel = dModel;
        this.seqLen = seqLen;
        this.valueClip = valueClip;
    }

    @Override
    public SDVariable defineLayer(SameDiff sd, SDVariable x, SDVariable labels, Map<String, SDVariable> p) {
        SDVariable v = x.permute(0, 2, 1).reshape(-1, dModel).mmul(p.get(RewardHead.WEIGHT)).add(p.get(RewardHead.BIAS))
                .reshape(-1, seqLen);                                                          // [mb, T]
        sd.identity(ACTIVATIONS, v.reshape(-1, 1, seqLen));
        SDVariable mask = labels.get(SDIndex.all(), SDIndex.point(0), SDIndex.all());
        SDVariable old = labels.get(SDIndex.all(), SDIndex.point(1), SDIndex.all());
        SDVariable ret = labels.get(SDIndex.all(), SDIndex.point(2), SDIndex.all());
        SDVariable clipped = sd.math.clipByValue(v.sub(old), -valueClip, valueClip).add(old);
        SDVariable plain = v.sub(ret);
        SDVariable other = clipped.sub(ret);
        // inside the clip range both branches are (V − R)²: take it alone there, since a max's backward pass would
        // count the gradient twice on equal branches; outside, the clipped branch is a constant
        SDVariable inside = sd.math.step(sd.math.abs(v.sub(old)).rsub(valueClip), 0.0);
        SDVariable squared = plain.mul(plain);
        SDVariable outside = sd.math.max(squared, other.mul(other));
        SDVariable perToken = squared.mul(inside).add(outside.mul(inside.rsub(1.0))).mul(0.5).mul(mask);
        SDVariable rows = x.shape().get(SDIndex.point(0)).castTo(perToken.dataType());
        SDVariable loss = perToken.sum().mul(rows).div(mask.sum());
        loss.markAsLoss();
        return loss;
    }

    @Override
    public String activationsVertexName() {
        return ACTIVATIONS;
    }

    @Override
    public void defineParameters(SDLayerParams params) {
        params.addWeightParam(RewardHead.WEIGHT, dModel, 1);
        params.addBiasParam(RewardHead.BIAS, 1, 1);
    }

    /** Zero; the value model is normally a copy of the reward model (copied in by name). */
    @Override
    public void initializeParameters(Map<String, INDArray> params) {
        params.get(RewardHead.WEIGHT).assign(0);
        params.get(RewardHead.BIAS).assign(0);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        return InputType.recurrent(1, seqLen);
    }
}
