package org.rlsf.train;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.model.Tokenizer;
import org.rlsf.pairs.PreferenceExample;

/**
 * A batch of pairs as the reward model's DataSet ({@link org.rlsf.model.graph.RewardHead}'s layout). Unlike the LM
 * layout, each sequence is fed in full — its last response token is an input, whose hidden state the reward reads — so
 * a batch planned at T positions needs T + 1 ({@link #length}).
 */
public final class RewardBatch {
    private RewardBatch() {
    }

    /** Positions the reward graph needs for pairs planned at {@code planLength}. */
    public static int length(int planLength) {
        return planLength + 1;
    }

    /** The margin of a pair ranked by confidence gap {@code gap}: exp(c_c − c_r) (method.md §6.1), or 0 when off. */
    public static double margin(double gap, boolean useMargin) {
        return useMargin ? Math.exp(gap) : 0;
    }

    /** Features [2P, T + 1] and labels [2P, 2, T + 1] (sign at the last response token, the margin beside it). */
    public static DataSet toDataSet(PreferenceBatch b, boolean useMargin) {
        int mb = 2 * b.pairs().size(), t = length(b.seqLen());
        float[] features = new float[mb * t];
        float[] labels = new float[mb * 2 * t];
        java.util.Arrays.fill(features, b.padId());
        for (int p = 0; p < b.pairs().size(); p++) {
            PreferenceExample e = b.pairs().get(p);
            fill(features, labels, 2 * p, t, b.bosId(), e.prompt(), e.chosen(), +1, (float) margin(e.confidenceGap(), useMargin));
            fill(features, labels, 2 * p + 1, t, b.bosId(), e.prompt(), e.rejected(), -1, 0);
        }
        INDArray f = Nd4j.create(features, new long[]{mb, t}, 'c').castTo(DataType.FLOAT);
        INDArray l = Nd4j.create(labels, new long[]{mb, 2, t}, 'c').castTo(DataType.FLOAT);
        return new DataSet(f, l);
    }

    private static void fill(float[] features, float[] labels, int row, int t, int bosId, int[] prompt, int[] response,
                             int sign, float margin) {
        int o = Tokenizer.promptOffset(bosId), n = o + prompt.length + response.length;
        if (o == 1) {
            features[row * t] = bosId;
        }
        for (int i = 0; i < prompt.length; i++) {
            features[row * t + o + i] = prompt[i];
        }
        for (int i = 0; i < response.length; i++) {
            features[row * t + o + prompt.length + i] = response[i];
        }
        labels[row * 2 * t + n - 1] = sign;
        labels[row * 2 * t + t + n - 1] = margin;
    }
}
