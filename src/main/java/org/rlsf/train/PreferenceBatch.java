package org.rlsf.train;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.model.Tokenizer;
import org.rlsf.pairs.PreferenceExample;

import java.io.Serializable;
import java.util.List;

/**
 * A minibatch of preference pairs as shipped to Spark workers (plain Java; arrays are built on the
 * worker). Pair i becomes rows 2i (chosen) and 2i+1 (rejected) of the DataSet, so a pair never
 * straddles two minibatches or two workers. Layout as {@link org.rlsf.model.graph.DpoOutputLayer} reads it.
 */
public record PreferenceBatch(List<PreferenceExample> pairs, int seqLen, int bosId, int padId) implements Serializable {

    public PreferenceBatch {
        for (PreferenceExample e : pairs) {
            if (e.length() > seqLen) {
                throw new IllegalArgumentException("pair " + e.pairId() + " needs " + e.length() + " positions (prompt "
                        + e.prompt().length + " + response), more than the training length " + seqLen);
            }
            if (e.chosen().length == 0 || e.rejected().length == 0) {
                throw new IllegalArgumentException("pair " + e.pairId() + " has an empty response");
            }
        }
    }

    /** Response tokens in this batch (both rows of every pair). */
    public long responseTokens() {
        long n = 0;
        for (PreferenceExample e : pairs) {
            n += e.chosen().length + e.rejected().length;
        }
        return n;
    }

    /** Features [2P, T] and labels [2P, 3, T] (id, sign, signed reference log-prob). */
    public DataSet toDataSet() {
        int mb = 2 * pairs.size(), t = seqLen;
        float[] features = new float[mb * t];
        float[] labels = new float[mb * 3 * t];
        java.util.Arrays.fill(features, padId);
        for (int p = 0; p < pairs.size(); p++) {
            PreferenceExample e = pairs.get(p);
            fill(features, labels, 2 * p, t, e.prompt(), e.chosen(), +1, e.refChosen());
            fill(features, labels, 2 * p + 1, t, e.prompt(), e.rejected(), -1, e.refRejected());
        }
        INDArray f = Nd4j.create(features, new long[]{mb, t}, 'c').castTo(DataType.FLOAT);
        INDArray l = Nd4j.create(labels, new long[]{mb, 3, t}, 'c').castTo(DataType.FLOAT);
        return new DataSet(f, l);
    }

    private void fill(float[] features, float[] labels, int row, int t, int[] prompt, int[] response, int sign, double ref) {
        int o = Tokenizer.promptOffset(bosId);                 // [BOS] prompt response, or prompt response
        int n = o + prompt.length + response.length;
        int[] s = new int[n];
        if (o == 1) {
            s[0] = bosId;
        }
        System.arraycopy(prompt, 0, s, o, prompt.length);
        System.arraycopy(response, 0, s, o + prompt.length, response.length);
        int base = row * 3 * t;
        for (int i = 0; i < t; i++) {
            labels[base + i] = padId;
        }
        for (int i = 0; i < n - 1; i++) {
            features[row * t + i] = s[i];
            labels[base + i] = s[i + 1];
            if (i >= o + prompt.length - 1) {                  // predicts a response token
                labels[base + t + i] = sign;
            }
        }
        labels[base + 2 * t + o + prompt.length - 1] = (float) (sign * ref);
    }
}
