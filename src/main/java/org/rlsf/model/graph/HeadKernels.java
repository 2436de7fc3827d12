package org.rlsf.model.graph;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * What the hand-written output heads ({@link EagerDpoHead}, {@link LmHead.Eager}) share: a chunk of positions
 * projected to the vocabulary with the label's log-probability and, when asked, softmax − one-hot (the gradient of
 * −log p(label) with respect to the logits), plus the row and element access around it.
 */
final class HeadKernels {
    private HeadKernels() {
    }

    /** A chunk's log p(label) per row and, when asked, softmax − one-hot(label) ([rows, V]), else null. */
    record LabelChunk(double[] logProbs, INDArray softmaxMinusOneHot) {
    }

    /** logits = x·W (+ b) for rows {@code x} ([c, d]). */
    static INDArray logits(INDArray x, INDArray weight, INDArray bias) {
        INDArray logits = Matmul.times(x, weight);
        return bias == null ? logits : logits.addiRowVector(bias);
    }

    /**
     * Rows {@code x} ([c, d]) projected to the vocabulary: log p(ids[k]) = logit − logsumexp per row, and with
     * {@code gradient} softmax − one-hot, made in place of the logits.
     */
    static LabelChunk labelChunk(INDArray x, INDArray weight, INDArray bias, int[] ids, boolean gradient) {
        INDArray logits = logits(x, weight, bias);
        double[] picked = pick(logits, ids);
        double[] logZ = logSumExp(logits, gradient);   // with the gradient: the logits become the softmax in place
        INDArray g = gradient ? logits : null;
        double[] logProbs = new double[ids.length];
        for (int k = 0; k < ids.length; k++) {
            logProbs[k] = picked[k] - logZ[k];
        }
        if (!gradient) {
            return new LabelChunk(logProbs, null);
        }
        for (int k = 0; k < ids.length; k++) {
            add(g, k, ids[k], -1.0);
        }
        return new LabelChunk(logProbs, g);
    }

    /**
     * Per row of {@code logits} ([c, V]): log Σ e^logit; with {@code softmaxInPlace} each row becomes its softmax.
     * {@link RowKernels#logSumExp} on float32 memory, ND4J's ops elsewhere.
     */
    static double[] logSumExp(INDArray logits, boolean softmaxInPlace) {
        double[] fast = RowKernels.logSumExp(logits, softmaxInPlace);
        if (fast != null) {
            return fast;
        }
        INDArray max = logits.max(true, 1);
        INDArray e = Transforms.exp(softmaxInPlace ? logits.subiColumnVector(max) : logits.subColumnVector(max), false);
        INDArray sums = e.sum(true, 1);
        double[] logZ = Transforms.log(sums, true).addi(max).toDoubleVector();
        if (softmaxInPlace) {
            e.diviColumnVector(sums);
        }
        return logZ;
    }

    /** The input [mb, d, T] as [mb·T, d] rows (b, t). */
    static INDArray asRows(INDArray x) {
        return x.permute(0, 2, 1).dup('c').reshape('c', x.size(0) * x.size(2), x.size(1));
    }

    /** m[k, cols[k]] for each row k of a matrix. */
    static double[] pick(INDArray m, int[] cols) {
        double[] out = new double[cols.length];
        for (int k = 0; k < cols.length; k++) {
            out[k] = get(m, k, cols[k]);
        }
        return out;
    }

    /** m[r, c]: a fresh row-major matrix read straight from its buffer (no index arithmetic of ND4J's per element). */
    private static double get(INDArray m, long r, long c) {
        return flat(m) ? m.data().getDouble(r * m.size(1) + c) : m.getDouble(r, c);
    }

    /** m[r, c] += v, as {@link #get} reads. */
    static void add(INDArray m, long r, long c, double v) {
        if (flat(m)) {
            long at = r * m.size(1) + c;
            m.data().put(at, m.data().getDouble(at) + v);
        } else {
            m.putScalar(r, c, m.getDouble(r, c) + v);
        }
    }

    private static boolean flat(INDArray m) {
        return !m.isView() && m.ordering() == 'c';
    }

    /**
     * rows[flat[k]] += values[k], one scatter op (a view and an op per position cost more than the products at small
     * widths).
     */
    static void scatterAdd(INDArray rows, int[] flat, INDArray values) {
        Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("scatter_add")
                .addInputs(rows, Nd4j.createFromArray(flat), values).addOutputs(rows).build());
    }
}
