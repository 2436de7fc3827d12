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
 * The reward model's scalar head with the Bradley–Terry loss (method.md §6.1), in place of the LM head: one linear
 * output per position, {@code r_t = h_t · W + b}, read at each sequence's last response token. Rows 2i and 2i+1 of a
 * minibatch are pair i's chosen and rejected sequence, each laid out in full ({@code [BOS] prompt response}, not shifted
 * as for next-token prediction).
 * <p>
 * Labels [mb, 2, T]: channel 0 the sign at the row's last response token (+1 chosen, −1 rejected, 0 elsewhere);
 * channel 1 the pair's margin m at the chosen row's last token (0 elsewhere, and 0 throughout for plain Bradley–Terry).
 * Per pair d = r(x, y_c) − r(x, y_r) − m; loss {@code −log σ(d)} = softplus(−d). The graph returns 2·Σ over pairs: DL4J
 * divides by the minibatch size (2 × pairs), which leaves the mean over pairs.
 * <p>
 * Activations (what {@code output()} returns): the reward at every position, [mb, 1, T].
 */
@Data
@EqualsAndHashCode(callSuper = false)
public class RewardHead extends SameDiffOutputLayer {
    public static final String WEIGHT = "W";
    public static final String BIAS = "b";
    private static final String ACTIVATIONS = "rewards";

    private int dModel;
    private int seqLen;

    public RewardHead() {
        // no-arg constructor: Spark ships layer configs as JSON
    }

    public RewardHead(int dModel, int seqLen) {
        this.dModel = dModel;
        this.seqLen = seqLen;
    }

    @Override
    public SDVariable defineLayer(SameDiff sd, SDVariable x, SDVariable labels, Map<String, SDVariable> p) {
        SDVariable xt = x.permute(0, 2, 1);                                                   // [mb, T, d]
        SDVariable r = xt.reshape(-1, dModel).mmul(p.get(WEIGHT)).add(p.get(BIAS)).reshape(-1, seqLen);   // [mb, T]
        sd.identity(ACTIVATIONS, r.reshape(-1, 1, seqLen));                                  // [mb, 1, T]
        SDVariable sign = labels.get(SDIndex.all(), SDIndex.point(0), SDIndex.all());         // [mb, T]
        SDVariable margin = labels.get(SDIndex.all(), SDIndex.point(1), SDIndex.all());
        SDVariable d = r.mul(sign).sum(1).sub(margin.sum(1)).reshape(-1, 2).sum(1);          // [pairs] r_c − r_r − m
        SDVariable loss = sd.nn.softplus(d.neg()).sum().mul(2.0);
        loss.markAsLoss();
        return loss;
    }

    @Override
    public String activationsVertexName() {
        return ACTIVATIONS;
    }

    @Override
    public void defineParameters(SDLayerParams params) {
        params.addWeightParam(WEIGHT, dModel, 1);
        params.addBiasParam(BIAS, 1, 1);
    }

    /** Zero: every pair starts tied (loss ln 2 without a margin), and the first steps fit the head as a linear probe. */
    @Override
    public void initializeParameters(Map<String, INDArray> params) {
        params.get(WEIGHT).assign(0);
        params.get(BIAS).assign(0);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        return InputType.recurrent(1, seqLen);
    }
}
