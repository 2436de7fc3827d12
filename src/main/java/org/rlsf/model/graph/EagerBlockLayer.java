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
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.rlsf.model.LoraTargets;

import java.util.List;
import java.util.Map;

import static org.rlsf.model.graph.TransformerBlock.B_1;
import static org.rlsf.model.graph.TransformerBlock.B_2;
import static org.rlsf.model.graph.TransformerBlock.B_O;
import static org.rlsf.model.graph.TransformerBlock.B_QKV;
import static org.rlsf.model.graph.TransformerBlock.LN1_B;
import static org.rlsf.model.graph.TransformerBlock.LN1_G;
import static org.rlsf.model.graph.TransformerBlock.LN2_B;
import static org.rlsf.model.graph.TransformerBlock.LN2_G;
import static org.rlsf.model.graph.TransformerBlock.W_1;
import static org.rlsf.model.graph.TransformerBlock.W_2;
import static org.rlsf.model.graph.TransformerBlock.W_O;
import static org.rlsf.model.graph.TransformerBlock.W_QKV;

/**
 * The runtime layer of a {@link TransformerBlock} with hand-written forward and backward passes in
 * ND4J operations: the same function as the block's SameDiff graph ({@link TransformerBlock#defineLayer},
 * kept as the reference), same parameters, same layout.
 *
 * <p>Why: DL4J's SameDiff layer runs the forward pass once in {@code activate} and again inside
 * {@code calculateGradients}, so a training step costs 2 forwards + 1 backward per block, and it composes
 * LayerNorm, GELU and the softmax gradient from many small broadcast ops. Here a training forward keeps
 * its intermediates (in DL4J's activations workspace, which lives until backprop ends), so backprop only
 * runs the backward operations, each written as one or a few ND4J calls.
 *
 * <p>Numerically this is the same function up to float rounding; {@code GradientCheckTest} checks every
 * parameter's gradient in float64 and {@code EagerBlockTest} checks outputs and gradients against the
 * SameDiff graph.
 */
public final class EagerBlockLayer extends org.deeplearning4j.nn.layers.samediff.SameDiffLayer {
    /** GELU (tanh form) as x·σ(x·(C1 + C2·x²)): 0.5·(1 + tanh(z)) = σ(2z). */
    private static final double C1 = 2 * Math.sqrt(2.0 / Math.PI), C2 = C1 * 0.044715;

    private Cache cache;
    private INDArray causal;
    private boolean frozenGradsZeroed;
    /** The block's adapted modules (resolved once: every forward and backward reads them). */
    private List<LoraTargets.Target> targets;

    public EagerBlockLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private TransformerBlock block() {
        return (TransformerBlock) layerConf();
    }

    /** Forward intermediates that backprop needs. */
    private record Cache(INDArray input, long mb, int t, INDArray xhat1, INDArray rstd1, INDArray a,
                         INDArray q, INDArray k, INDArray v, INDArray probs, INDArray att,
                         INDArray xhat2, INDArray rstd2, INDArray m, INDArray u, INDArray sig, INDArray hid,
                         INDArray out, Map<String, INDArray> w) {
    }

    /**
     * The weights the block computes with: the parameters, or with LoRA adapters W + s·A·B in each adapted module's
     * columns (a copy; the parameter stays as it is).
     */
    private Map<String, INDArray> effectiveWeights() {
        TransformerBlock b = block();
        Map<String, INDArray> w = new java.util.HashMap<>();
        for (String name : new String[]{W_QKV, W_O, W_1, W_2}) {
            w.put(name, paramTable.get(name));
        }
        List<LoraTargets.Target> adapted = targets();
        for (int i = 0; i < adapted.size(); i++) {
            LoraTargets.Target t = adapted.get(i);
            INDArray base = w.get(t.param());
            if (base == paramTable.get(t.param())) {
                base = base.dup('c');
                w.put(t.param(), base);
            }
            INDArray delta = Matmul.times(paramTable.get(LoraTargets.paramA(i)), paramTable.get(LoraTargets.paramB(i)))
                    .muli(b.getLoraScale());
            base.get(NDArrayIndex.all(), NDArrayIndex.interval(t.colOffset(), t.colOffset() + t.out())).addi(delta);
        }
        return w;
    }

    private List<LoraTargets.Target> targets() {
        if (targets == null) {
            targets = block().loraTargets();
        }
        return targets;
    }

    /** Whether the block trains LoRA adapters only (its own parameters frozen). */
    private boolean adaptersOnly() {
        return !targets().isEmpty();
    }

    /**
     * LoRA: the B gradients of the modules in weight {@code w}'s columns, from the layer input x and dL/dy. With
     * y = x·(W + s·A·B), dB = s·(x·A)ᵀ·dy[module columns]: an [n, r] product and an [r, out] one, instead of the
     * weight gradient xᵀ·dy ([in, out], as large as the forward) that a frozen W does not need.
     */
    private void adapterGrads(INDArray x, INDArray dy, String w) {
        TransformerBlock b = block();
        List<LoraTargets.Target> adapted = targets();
        for (int i = 0; i < adapted.size(); i++) {
            LoraTargets.Target t = adapted.get(i);
            if (!t.param().equals(w)) {
                continue;
            }
            INDArray xa = Matmul.times(x, paramTable.get(LoraTargets.paramA(i)));            // [n, r]
            INDArray dyCols = dy.get(NDArrayIndex.all(), NDArrayIndex.interval(t.colOffset(), t.colOffset() + t.out()));
            Matmul.gemm(xa, true, dyCols, false, gradTable.get(LoraTargets.paramB(i)), b.getLoraScale(), 0.0);
        }
    }

    /**
     * LoRA: the frozen parameters' gradients are never written (the adapter path skips them), so they hold zeros; they
     * are zeroed once here in case the gradient view started otherwise, and the {@link Frozen} updater zeroes them
     * again after every step. DL4J's per-layer clip then sees the adapters' gradient alone.
     */
    private void zeroFrozenGradsOnce() {
        if (frozenGradsZeroed) {
            return;
        }
        for (Map.Entry<String, INDArray> g : gradTable.entrySet()) {
            if (!g.getKey().startsWith("loraB")) {
                g.getValue().assign(0);
            }
        }
        frozenGradsZeroed = true;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        cache = null;
        if (!training) {
            Cache c = forward(input);
            return asActivation(workspaceMgr.leverageTo(ArrayType.ACTIVATIONS, c.out), c.mb, c.t);
        }
        // a training forward's intermediates must outlive this call: they go where the activations go
        try (MemoryWorkspace ws = trainingScope(workspaceMgr)) {
            cache = forward(input);
            return asActivation(cache.out, cache.mb, cache.t);
        }
    }

    /** [mb·T, d] rows (b, t) as a [mb, d, T] activation (a view). */
    static INDArray asActivation(INDArray rows, long mb, long t) {
        return rows.reshape('c', mb, t, rows.size(1)).permute(0, 2, 1);
    }

    /** A [mb, d, T] activation as [mb·T, d] rows (b, t): a view when it is one of ours, else a copy. */
    static INDArray asRows(INDArray activation) {
        return activation.permute(0, 2, 1).reshape('c', activation.size(0) * activation.size(2), activation.size(1));
    }

    /**
     * Runs a training forward with its arrays where DL4J keeps activations until backprop ends (or outside any
     * workspace when activations are not in one).
     */
    static MemoryWorkspace trainingScope(LayerWorkspaceMgr workspaceMgr) {
        return workspaceMgr.isScopedOut(ArrayType.ACTIVATIONS)
                ? Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()
                : workspaceMgr.notifyScopeBorrowed(ArrayType.ACTIVATIONS);
    }

    private Cache forward(INDArray in) {
        TransformerBlock b = block();
        int d = b.getDModel(), h = b.getNHeads(), dh = d / h;
        long mb = in.size(0);
        int t = (int) in.size(2);
        long n = mb * t;
        Map<String, INDArray> p = paramTable;
        Map<String, INDArray> w = effectiveWeights();
        INDArray x = asRows(in);                                                    // [n, d], a copy only if needed

        // attention on LN1(x)
        INDArray[] ln1 = layerNorm(x, b.getEps());                                  // xhat, rstd
        INDArray a = ln1[0].mulRowVector(p.get(LN1_G)).addiRowVector(p.get(LN1_B));
        INDArray qkv = xwPlusB(a, w.get(W_QKV), p.get(B_QKV));                      // [n, 3d]
        INDArray split = qkv.reshape('c', mb, t, 3, h, dh).permute(2, 0, 3, 1, 4).dup('c');  // [3, mb, H, T, dh]
        INDArray q = part(split, 0), k = part(split, 1), v = part(split, 2);
        INDArray probs = Nd4j.createUninitialized(q.dataType(), mb, h, t, t);                // [mb, H, T, T]
        Matmul.batched(q, false, k, true, probs, 1.0 / Math.sqrt(dh), 0.0);
        causalSoftmax(probs);
        INDArray heads = Nd4j.createUninitialized(q.dataType(), mb, h, t, dh);
        Matmul.batched(probs, false, v, false, heads, 1.0, 0.0);
        INDArray att = heads.permute(0, 2, 1, 3).dup('c').reshape('c', n, d);
        INDArray x1 = xwPlusB(att, w.get(W_O), p.get(B_O)).addi(x);

        // MLP on LN2(x1)
        INDArray[] ln2 = layerNorm(x1, b.getEps());
        INDArray m = ln2[0].mulRowVector(p.get(LN2_G)).addiRowVector(p.get(LN2_B));
        INDArray u = xwPlusB(m, w.get(W_1), p.get(B_1));                            // [n, dFf]
        INDArray sig = Transforms.sigmoid(u.mul(u).muli(C2).addi(C1).muli(u), false);
        INDArray hid = u.mul(sig);
        INDArray out = xwPlusB(hid, w.get(W_2), p.get(B_2)).addi(x1);               // [n, d]
        return new Cache(in, mb, t, ln1[0], ln1[1], a, q, k, v, probs, att, ln2[0], ln2[1], m, u, sig, hid, out, w);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        Cache c = cache != null && cache.input == input ? cache : forward(input);
        cache = null;
        TransformerBlock b = block();
        int d = b.getDModel(), h = b.getNHeads(), dh = d / h, t = c.t;
        long mb = c.mb, n = mb * t;
        Map<String, INDArray> p = c.w();
        INDArray dy = asRows(epsilon);                                              // dL/d out, [n, d]

        // MLP: out = x1 + gelu(m·W1 + b1)·W2 + b2
        linearGrads(c.hid, dy, W_2, B_2);
        INDArray dU = Matmul.timesTransposed(dy, p.get(W_2));                              // dL/d hid
        INDArray slope = c.u.mul(c.u).muli(3 * C2).addi(C1).muli(c.u)
                .muli(c.sig.rsub(1.0).muli(c.sig)).addi(c.sig);                     // gelu'(u)
        dU.muli(slope);
        linearGrads(c.m, dU, W_1, B_1);
        INDArray dX1 = layerNormBackward(Matmul.timesTransposed(dU, p.get(W_1)), c.xhat2, c.rstd2, LN2_G, LN2_B).addi(dy);

        // attention: x1 = x + att·Wo + bo
        linearGrads(c.att, dX1, W_O, B_O);
        INDArray dAtt = Matmul.timesTransposed(dX1, p.get(W_O))
                .reshape('c', mb, t, h, dh).permute(0, 2, 1, 3).dup('c');           // [mb, H, T, dh]
        INDArray dSplit = Nd4j.createUninitialized(c.q.dataType(), 3, mb, h, t, dh);
        Matmul.batched(c.probs, true, dAtt, false, part(dSplit, 2), 1.0, 0.0);                     // dV
        INDArray dP = Nd4j.createUninitialized(dAtt.dataType(), mb, h, t, t);                     // [mb, H, T, T]
        Matmul.batched(dAtt, false, c.v, true, dP, 1.0, 0.0);
        INDArray dS = causalSoftmaxBackward(dP, c.probs);                                       // softmax'
        double scale = 1.0 / Math.sqrt(dh);
        Matmul.batched(dS, false, c.k, false, part(dSplit, 0), scale, 0.0);                       // dQ
        Matmul.batched(dS, true, c.q, false, part(dSplit, 1), scale, 0.0);                        // dK
        INDArray dQkv = dSplit.permute(1, 3, 0, 2, 4).dup('c').reshape('c', n, 3L * d);
        linearGrads(c.a, dQkv, W_QKV, B_QKV);
        INDArray dX = layerNormBackward(Matmul.timesTransposed(dQkv, p.get(W_QKV)), c.xhat1, c.rstd1, LN1_G, LN1_B).addi(dX1);

        if (adaptersOnly()) {
            zeroFrozenGradsOnce();
        }
        Gradient g = new DefaultGradient();
        for (String name : paramTable.keySet()) {
            g.gradientForVariable().put(name, gradTable.get(name));
        }
        INDArray eps = workspaceMgr.dup(ArrayType.ACTIVATION_GRAD, dX);
        return new Pair<>(g, asActivation(eps, c.mb, c.t));
    }

    /** y = x·W + b: dW = xᵀ·dy, db = Σ rows of dy, written into the layer's gradient views (with LoRA: dB only). */
    private void linearGrads(INDArray x, INDArray dy, String w, String bias) {
        if (adaptersOnly()) {
            adapterGrads(x, dy, w);
            return;
        }
        Matmul.gemm(x, true, dy, false, gradTable.get(w), 1.0, 0.0);
        columnSums(dy, gradTable.get(bias));
    }

    private static final ThreadLocal<INDArray> ONES = new ThreadLocal<>();

    /**
     * Σ over the rows of {@code m} ([n, k]) into {@code out} (a [1, k] view), as the product 1ᵀ·m: the BLAS
     * product measured several times faster than libnd4j's strided column reduction at these shapes.
     */
    static void columnSums(INDArray m, INDArray out) {
        long n = m.size(0);
        INDArray ones = ONES.get();
        if (ones == null || ones.length() < n || ones.dataType() != m.dataType()) {
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                ones = Nd4j.ones(m.dataType(), 1, Math.max(n, 4096));
            }
            ONES.set(ones);
        }
        INDArray row = ones.get(NDArrayIndex.point(0), NDArrayIndex.interval(0, n)).reshape(1, n);
        Matmul.gemm(row, false, m, false, out.reshape(1, out.length()), 1.0, 0.0);
    }

    /** {xhat, rstd} of LayerNorm over rows: xhat = (x − mean)·rstd, rstd = (var + eps)^−½ ([n, 1]). */
    static INDArray[] layerNorm(INDArray x, double eps) {
        INDArray centred = x.subColumnVector(x.mean(true, 1));
        INDArray rstd = Transforms.pow(centred.mul(centred).mean(true, 1).addi(eps), -0.5, false);
        return new INDArray[]{centred.muliColumnVector(rstd), rstd};
    }

    private INDArray layerNormBackward(INDArray dOut, INDArray xhat, INDArray rstd, String gain, String bias) {
        boolean frozen = adaptersOnly();   // no gain or bias gradient for frozen norms
        return layerNormBackward(dOut, xhat, rstd, paramTable.get(gain), frozen ? null : gradTable.get(gain),
                frozen ? null : gradTable.get(bias));
    }

    /**
     * Backward of out = xhat·g + b: fills the gain and bias gradients ({@code dGain}, {@code dBias}, [1, d] views; null
     * skips one) and
     * returns dL/dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)) with dxhat = dout·g.
     */
    static INDArray layerNormBackward(INDArray dOut, INDArray xhat, INDArray rstd, INDArray gain, INDArray dGain,
                                      INDArray dBias) {
        if (dGain != null) {
            columnSums(dOut.mul(xhat), dGain);
        }
        if (dBias != null) {
            columnSums(dOut, dBias);
        }
        INDArray dxhat = dOut.mulRowVector(gain);
        INDArray proj = dxhat.mul(xhat).mean(true, 1);
        return dxhat.subiColumnVector(dxhat.mean(true, 1)).subi(xhat.mulColumnVector(proj)).muliColumnVector(rstd);
    }

    private static INDArray xwPlusB(INDArray x, INDArray w, INDArray bias) {
        INDArray out = Matmul.times(x, w);
        return out.addiRowVector(bias.reshape(1, bias.length()));
    }

    private static INDArray part(INDArray stacked, int i) {
        return stacked.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
    }

    /**
     * In place: each row i of the [.., T, T] scores becomes softmax over its keys j ≤ i, and 0 above the diagonal (the
     * causal mask). On the CPU backend in float32 a Java loop over the row-major memory that visits only j ≤ i;
     * elsewhere the mask added as −1e9 and libnd4j's softmax (exp(−1e9 − max) is 0 in float, so the same function).
     */
    private void causalSoftmax(INDArray scores) {
        if (!causalSoftmaxInPlace(scores)) {
            scores.addi(causal((int) scores.size(scores.rank() - 1), scores.dataType()));
            Nd4j.exec(new SoftMax(scores, scores, scores.rank() - 1));
        }
    }

    /** {@link #causalSoftmax}'s Java loop; false (nothing done) off the CPU backend or float32 row-major memory. */
    static boolean causalSoftmaxInPlace(INDArray scores) {
        int t = (int) scores.size(scores.rank() - 1);
        java.nio.FloatBuffer f = floats(scores);
        if (f == null) {
            return false;
        }
        long rows = scores.length() / t;
        for (long r = 0; r < rows; r++) {
            int base = (int) (r * t), i = (int) (r % t);
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j <= i; j++) {
                max = Math.max(max, f.get(base + j));
            }
            double sum = 0;
            for (int j = 0; j <= i; j++) {
                float e = (float) Math.exp(f.get(base + j) - max);
                f.put(base + j, e);
                sum += e;
            }
            float inv = (float) (1.0 / sum);
            for (int j = 0; j <= i; j++) {
                f.put(base + j, f.get(base + j) * inv);
            }
            for (int j = i + 1; j < t; j++) {
                f.put(base + j, 0f);
            }
        }
        return true;
    }

    /**
     * dL/dscores from dL/dprobs (overwritten) and the causal softmax's probabilities: per row (dP − Σ dP·P)·P, which is
     * 0 above the diagonal where P is. Java loops over j ≤ i on the CPU backend in float32, ND4J ops elsewhere.
     */
    static INDArray causalSoftmaxBackward(INDArray dP, INDArray probs) {
        int t = (int) probs.size(probs.rank() - 1);
        java.nio.FloatBuffer g = floats(dP), p = floats(probs);
        if (g == null || p == null) {
            long rows = probs.length() / t;
            INDArray dP2 = dP.reshape('c', rows, t), p2 = probs.reshape('c', rows, t);
            return dP2.subiColumnVector(dP2.mul(p2).sum(true, 1)).muli(p2).reshape('c', probs.shape());
        }
        long rows = probs.length() / t;
        for (long r = 0; r < rows; r++) {
            int base = (int) (r * t), i = (int) (r % t);
            double dot = 0;
            for (int j = 0; j <= i; j++) {
                dot += (double) g.get(base + j) * p.get(base + j);
            }
            float d = (float) dot;
            for (int j = 0; j <= i; j++) {
                g.put(base + j, (g.get(base + j) - d) * p.get(base + j));
            }
            for (int j = i + 1; j < t; j++) {
                g.put(base + j, 0f);
            }
        }
        return dP;
    }

    /** A float32 array's row-major memory on the CPU backend (fresh or contiguous, no offset), or null. */
    private static java.nio.FloatBuffer floats(INDArray x) {
        if (!Matmul.CPU || x.dataType() != DataType.FLOAT || x.ordering() != 'c' || x.isView() || x.length() > Integer.MAX_VALUE
                || x.elementWiseStride() != 1) {
            return null;
        }
        return x.data().asNioFloat();
    }

    /** [1, 1, T, T]: 0 on and below the diagonal, −1e9 above (made once, outside any workspace). */
    private INDArray causal(int t, DataType type) {
        if (causal == null || causal.size(3) != t || causal.dataType() != type) {
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                causal = TransformerBlock.causalBias(t, type).reshape(1, 1, t, t);
            }
        }
        return causal;
    }

    @Override
    public void clear() {
        super.clear();
        cache = null;
    }
}
