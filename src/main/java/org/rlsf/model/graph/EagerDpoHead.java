package org.rlsf.model.graph;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;

/**
 * The runtime of a {@link DpoOutputLayer} with the log-probabilities computed only where the loss reads them and in
 * chunks: the same function as the layer's SameDiff graph (kept as the reference, {@code compute.kernels = samediff}),
 * the same parameters and gradients.
 *
 * <p>The SameDiff graph materialises several [minibatch, length, vocabulary] arrays (logits, their exponentials, the
 * log-softmax, a one-hot of the labels, the softmax activations) and their gradients, and runs its forward twice
 * per step (score, then gradients): with a real vocabulary (50,257 for GPT-2, 151,936 for Qwen2) that is gigabytes.
 * Here only the response positions (sign ≠ 0; the prompt and padding contribute nothing to the loss) are projected to
 * the vocabulary, a chunk of rows at a time, so the head's working memory is bounded by
 * {@link DpoOutputLayer#getChunkElements()} ({@value #CHUNK_ELEMENTS} by default) values per array (three arrays in the backward: logits, softmax, their gradient), whatever
 * the batch, length and vocabulary.
 *
 * <p>DL4J runs the backward before the score; both need each row's log-probability sums, computed once per input and
 * kept for the other. A trainable head's backward recomputes each chunk's logits instead of keeping them (its weight
 * gradient needs the pair's loss slope, known only after every chunk). A frozen head (LoRA) needs only dL/dx, whose
 * per-position part (softmax − one-hot)·Wᵀ the log-probability pass computes while it holds each chunk's softmax: one
 * projection to the vocabulary per step instead of three.
 */
public final class EagerDpoHead extends org.deeplearning4j.nn.layers.samediff.SameDiffOutputLayer {
    /** Values per logits chunk (rows × vocabulary): 4 Mi values = 16 MB in float32. */
    public static final int CHUNK_ELEMENTS = 1 << 22;

    /** The per-row sums of the last input and labels scored, kept for the other of backward and score. */
    private INDArray scoredInput, scoredLabels;
    private Positions scoredPositions;
    private double[] perRow;
    /** A frozen head's (softmax − one-hot)·Wᵀ per response position, [positions, d], from the same pass; else null. */
    private INDArray positionDx;

    public EagerDpoHead(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private DpoOutputLayer head() {
        return (DpoOutputLayer) layerConf();
    }

    /** Rows of a logits chunk of at most {@code elements} values for a vocabulary of {@code vocab}. */
    public static int chunkRows(long vocab, long elements) {
        return (int) Math.max(1, elements / vocab);
    }

    private int chunkRows() {
        return chunkRows(head().getVocabSize(), head().getChunkElements());
    }

    /** The positions a loss reads: (row, t) with a non-zero sign, their label ids and signs. */
    private record Positions(int[] rows, int[] ts, int[] ids, double[] signs) {
        static Positions of(INDArray labels) {
            long mb = labels.size(0), t = labels.size(2);
            double[][] id = channel(labels, 0), sign = channel(labels, 1);   // one bulk read each
            List<int[]> at = new ArrayList<>();
            List<Double> signs = new ArrayList<>();
            for (int r = 0; r < mb; r++) {
                for (int i = 0; i < t; i++) {
                    double s = sign[r][i];
                    if (s != 0) {
                        at.add(new int[]{r, i, (int) id[r][i]});
                        signs.add(s);
                    }
                }
            }
            int n = at.size();
            int[] rows = new int[n], ts = new int[n], ids = new int[n];
            double[] sg = new double[n];
            for (int k = 0; k < n; k++) {
                rows[k] = at.get(k)[0];
                ts[k] = at.get(k)[1];
                ids[k] = at.get(k)[2];
                sg[k] = signs.get(k);
            }
            return new Positions(rows, ts, ids, sg);
        }

        /** Flat indices r·T + t into the [mb·T, d] rows of the input, for positions [from, to). */
        int[] flat(int from, int to, long t) {
            int[] out = new int[to - from];
            for (int k = from; k < to; k++) {
                out[k - from] = (int) (rows[k] * t + ts[k]);
            }
            return out;
        }
    }

    /** Channel {@code c} of labels [mb, 3, T] as [mb][T] (one bulk copy instead of a read per element). */
    private static double[][] channel(INDArray labels, int c) {
        return labels.get(NDArrayIndex.all(), NDArrayIndex.point(c), NDArrayIndex.all()).toDoubleMatrix();
    }

    private INDArray logits(INDArray xRows) {
        return HeadKernels.logits(xRows, getParam(DpoOutputLayer.WEIGHT), head().isHasBias() ? getParam(DpoOutputLayer.BIAS) : null);
    }

    /**
     * log p(label) at every response position of {@code pos}, in order: the input's rows ([mb·T, d]) projected to the
     * vocabulary {@code chunk} positions at a time, logit − logsumexp.
     */
    private static double[] positionLogProbs(INDArray rows, long t, Positions pos, INDArray weight, INDArray bias, int chunk) {
        return positionLogProbs(rows, t, pos, weight, bias, chunk, null);
    }

    /**
     * {@link #positionLogProbs(INDArray, long, Positions, INDArray, INDArray, int)}, and when {@code dx} ([positions, d])
     * is given, each position's (softmax − one-hot(label))·Wᵀ written into its row (from the chunk's softmax in hand).
     */
    private static double[] positionLogProbs(INDArray rows, long t, Positions pos, INDArray weight, INDArray bias, int chunk,
                                             INDArray dx) {
        double[] out = new double[pos.ids.length];
        for (int from = 0; from < pos.ids.length; from += chunk) {
            int to = Math.min(pos.ids.length, from + chunk);
            HeadKernels.LabelChunk c = HeadKernels.labelChunk(Nd4j.pullRows(rows, 1, pos.flat(from, to, t)), weight, bias,
                    java.util.Arrays.copyOfRange(pos.ids, from, to), dx != null);
            System.arraycopy(c.logProbs(), 0, out, from, to - from);
            if (dx != null) {
                Matmul.gemm(c.softmaxMinusOneHot(), false, weight, true, dx.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()),
                        1.0, 0.0);
            }
        }
        return out;
    }

    /** Each row's softmax, in place; returns {@code logits}. */
    private static INDArray softmaxInPlace(INDArray logits) {
        HeadKernels.logSumExp(logits, true);
        return logits;
    }

    /**
     * Σ over each row's response positions (sign ≠ 0) of log p(label), from the head's input activations
     * ([mb, d, T]) and labels ([mb, 3, T]) in chunks: what the preference metrics read, without the full softmax.
     */
    public static double[] responseLogProbs(INDArray x, INDArray labels, INDArray weight, INDArray bias) {
        Positions pos = Positions.of(labels);
        double[] lp = positionLogProbs(HeadKernels.asRows(x), x.size(2), pos, weight, bias, chunkRows(weight.size(1), CHUNK_ELEMENTS));
        double[] out = new double[(int) x.size(0)];
        for (int k = 0; k < lp.length; k++) {
            out[pos.rows[k]] += lp[k];
        }
        return out;
    }

    /**
     * Per row: Σ sign·log p(label) − Σ ref (the quantity the layer's graph calls perRow) at the labels' positions
     * {@code pos}; with {@code dx}, as
     * {@link #positionLogProbs(INDArray, long, Positions, INDArray, INDArray, int, INDArray)} fills it.
     */
    private double[] perRow(INDArray x, INDArray labels, Positions pos, INDArray dx) {
        long mb = x.size(0), t = x.size(2);
        double[] lp = positionLogProbs(HeadKernels.asRows(x), t, pos, getParam(DpoOutputLayer.WEIGHT),
                head().isHasBias() ? getParam(DpoOutputLayer.BIAS) : null, chunkRows(), dx);
        double[] out = new double[(int) mb];
        for (int k = 0; k < lp.length; k++) {
            out[pos.rows[k]] += pos.signs[k] * lp[k];
        }
        double[][] ref = channel(labels, 2);
        for (int r = 0; r < mb; r++) {
            for (int i = 0; i < t; i++) {
                out[r] -= ref[r][i];
            }
        }
        return out;
    }

    /** The layer's loss as its graph defines it: 2·Σ over pairs (DL4J divides by the minibatch, 2 × pairs). */
    private double loss(double[] rows) {
        DpoOutputLayer c = head();
        double sum = 0;
        for (int p = 0; p < rows.length / 2; p++) {
            double h = rows[2 * p] + rows[2 * p + 1];
            if (DpoOutputLayer.IPO.equals(c.getLossType())) {
                double dev = h - 1.0 / (2 * c.getBeta());
                sum += dev * dev;
            } else {
                sum += (1 - c.getLabelSmoothing()) * softplus(-c.getBeta() * h) + c.getLabelSmoothing() * softplus(c.getBeta() * h);
            }
        }
        return 2 * sum;
    }

    /** d(loss)/dh of one pair, times the graph's factor 2. */
    private double lossSlope(double h) {
        DpoOutputLayer c = head();
        if (DpoOutputLayer.IPO.equals(c.getLossType())) {
            return 2 * 2 * (h - 1.0 / (2 * c.getBeta()));
        }
        double b = c.getBeta(), e = c.getLabelSmoothing();
        return 2 * (-(1 - e) * b * sigmoid(-b * h) + e * b * sigmoid(b * h));
    }

    private static double softplus(double z) {
        return z > 30 ? z : Math.log1p(Math.exp(z));
    }

    private static double sigmoid(double z) {
        return 1 / (1 + Math.exp(-z));
    }

    @Override
    public double computeScore(double fullNetRegTerm, boolean training, LayerWorkspaceMgr workspaceMgr) {
        return loss(scored(false)) / input.size(0) + fullNetRegTerm;
    }

    /**
     * The per-row sums of the current input and labels: computed once, kept (with the labels' {@link #scoredPositions})
     * for the other of score and backward; with {@code wantDx} (a frozen head's backward) also {@link #positionDx},
     * outside any workspace.
     */
    private double[] scored(boolean wantDx) {
        if (scoredInput != input || scoredLabels != labels || perRow == null || (wantDx && positionDx == null)) {
            scoredPositions = Positions.of(labels);
            positionDx = null;
            if (wantDx && scoredPositions.ids.length > 0) {
                try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                    positionDx = Nd4j.createUninitialized(input.dataType(), scoredPositions.ids.length, input.size(1));
                }
            }
            perRow = perRow(input, labels, scoredPositions, positionDx);
            scoredInput = input;
            scoredLabels = labels;
        }
        return perRow;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        boolean frozen = layerConf().getUpdaterByParam(DpoOutputLayer.WEIGHT) instanceof Frozen;
        double[] rows = scored(frozen);
        Positions pos = scoredPositions;
        long mb = input.size(0), d = input.size(1), t = input.size(2);
        INDArray dW = gradTable.get(DpoOutputLayer.WEIGHT).assign(0);
        INDArray dB = head().isHasBias() ? gradTable.get(DpoOutputLayer.BIAS).assign(0) : null;
        INDArray dxRows = Nd4j.zeros(input.dataType(), mb * t, d);
        if (frozen) {   // dx of each position: −(pair's loss slope × sign)·(softmax − one-hot)·Wᵀ, from the scoring pass
            if (pos.ids.length > 0) {
                INDArray coef = Nd4j.createFromArray(coefficients(rows, pos, 0, pos.ids.length)).castTo(input.dataType())
                        .reshape(pos.ids.length, 1).negi();
                HeadKernels.scatterAdd(dxRows, pos.flat(0, pos.ids.length, t), positionDx.muliColumnVector(coef));
            }
            positionDx = null;
            return result(dW, dB, dxRows, mb, t, d, workspaceMgr);
        }
        INDArray xRows = HeadKernels.asRows(input);
        INDArray weight = getParam(DpoOutputLayer.WEIGHT);
        int chunk = chunkRows();
        for (int from = 0; from < pos.ids.length; from += chunk) {
            int to = Math.min(pos.ids.length, from + chunk);
            int[] flat = pos.flat(from, to, t);
            INDArray xc = Nd4j.pullRows(xRows, 1, flat);
            INDArray g = softmaxInPlace(logits(xc));                              // then −g·(softmax − onehot)
            double[] coef = coefficients(rows, pos, from, to);
            INDArray c = Nd4j.createFromArray(coef).castTo(g.dataType()).reshape(coef.length, 1);
            g.muliColumnVector(c).negi();
            for (int k = from; k < to; k++) {
                HeadKernels.add(g, k - from, pos.ids[k], coef[k - from]);
            }
            Matmul.gemm(xc, true, g, false, dW, 1.0, 1.0);                                     // dW += xᵀ·g
            if (dB != null) {
                dB.addi(g.sum(true, 0));
            }
            HeadKernels.scatterAdd(dxRows, flat, Matmul.timesTransposed(g, weight));                    // dx rows += g·Wᵀ
        }
        return result(dW, dB, dxRows, mb, t, d, workspaceMgr);
    }

    /** dL/d log p of positions [from, to): each one's pair's loss slope × its sign. */
    private double[] coefficients(double[] rows, Positions pos, int from, int to) {
        double[] coef = new double[to - from];
        for (int k = from; k < to; k++) {
            int r = pos.rows[k];
            coef[k - from] = lossSlope(rows[r - r % 2] + rows[r - r % 2 + 1]) * pos.signs[k];
        }
        return coef;
    }

    private Pair<Gradient, INDArray> result(INDArray dW, INDArray dB, INDArray dxRows, long mb, long t, long d,
                                            LayerWorkspaceMgr workspaceMgr) {
        Gradient grad = new DefaultGradient();
        grad.gradientForVariable().put(DpoOutputLayer.WEIGHT, dW);
        if (dB != null) {
            grad.gradientForVariable().put(DpoOutputLayer.BIAS, dB);
        }
        INDArray dx = dxRows.reshape('c', mb, t, d).permute(0, 2, 1);
        return new Pair<>(grad, workspaceMgr.dup(ArrayType.ACTIVATION_GRAD, dx));
    }

    /** What {@code output()} returns, as the graph's activations: the softmax over the vocabulary, [mb, V, T]. */
    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        long mb = input.size(0), t = input.size(2);
        INDArray xRows = HeadKernels.asRows(input);
        long v = head().getVocabSize();
        INDArray out = workspaceMgr.create(ArrayType.ACTIVATIONS, input.dataType(), mb, v, t);
        int chunk = chunkRows();
        for (long from = 0; from < mb * t; from += chunk) {
            long to = Math.min(mb * t, from + chunk);
            INDArray logits = logits(xRows.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(from, to),
                    org.nd4j.linalg.indexing.NDArrayIndex.all()));
            softmaxInPlace(logits);
            for (long k = from; k < to; k++) {
                out.get(org.nd4j.linalg.indexing.NDArrayIndex.point(k / t), org.nd4j.linalg.indexing.NDArrayIndex.all(),
                        org.nd4j.linalg.indexing.NDArrayIndex.point(k % t)).assign(logits.getRow(k - from));
            }
        }
        return out;
    }

    @Override
    public INDArray computeScoreForExamples(double fullNetRegTerm, LayerWorkspaceMgr workspaceMgr) {
        throw new UnsupportedOperationException("per-example DPO scores: the loss is per pair of rows");
    }

    @Override
    public void clear() {
        super.clear();
        scoredInput = null;
        scoredLabels = null;
        scoredPositions = null;
        perRow = null;
        positionDx = null;
    }
}
