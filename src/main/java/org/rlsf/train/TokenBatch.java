package org.rlsf.train;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;

/**
 * A minibatch of token sequences, as shipped to Spark workers (small, plain Java; the arrays are
 * built on the worker by {@link #toDataSet()}).
 *
 * @param sequences {@code [BOS] … [EOS]} token ids, each at most seqLen + 1 long; an entry marked by
 *                  {@link LmExamples#unscored(int)} is fed but its prediction is masked
 * @param seqLen    the graph's sequence length T
 * @param padId     id used for padding (masked out of the loss)
 */
public record TokenBatch(int[][] sequences, int seqLen, int padId) implements Serializable {

    /** Non-pad predicted tokens in this batch. */
    public long predictedTokens() {
        long n = 0;
        for (int[] s : sequences) {
            n += s.length - 1;
        }
        return n;
    }

    /**
     * Features [mb, T] = tokens 0..T-1 (right-padded); labels [mb, 1, T] = tokens 1..T (next-token
     * ids); label mask [mb, T] = 1 where the label is a real token that is not marked unscored.
     */
    public DataSet toDataSet() {
        int mb = sequences.length, t = seqLen;
        float[] features = new float[mb * t];
        float[] labels = new float[mb * t];
        float[] mask = new float[mb * t];
        java.util.Arrays.fill(features, padId);
        java.util.Arrays.fill(labels, padId);
        for (int b = 0; b < mb; b++) {
            int[] s = sequences[b];
            for (int i = 0; i < s.length - 1; i++) {
                features[b * t + i] = LmExamples.id(s[i]);
                labels[b * t + i] = LmExamples.id(s[i + 1]);
                mask[b * t + i] = s[i + 1] < 0 ? 0f : 1f;
            }
        }
        INDArray f = Nd4j.create(features, new long[]{mb, t}, 'c').castTo(DataType.FLOAT);
        INDArray l = Nd4j.create(labels, new long[]{mb, 1, t}, 'c').castTo(DataType.FLOAT);
        INDArray m = Nd4j.create(mask, new long[]{mb, t}, 'c').castTo(DataType.FLOAT);
        return new DataSet(f, l, null, m);
    }
}
