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
import org.rlsf.config.Architecture;
import org.rlsf.model.VectorMath;
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
 * kept as the reference), same parameters, same layout, for every design the block has: LayerNorm or RMSNorm,
 * GELU or SwiGLU, learned or rotary positions, multi-head or grouped-query attention, each bias group present or not,
 * and LoRA adapters on any module.
 *
 * <p>Why: DL4J's SameDiff layer runs the forward pass once in {@code activate} and again inside
 * {@code calculateGradients}, so a training step costs 2 forwards + 1 backward per block, and it composes
 * LayerNorm, GELU and the softmax gradient from many small broadcast ops. Here a training forward keeps
 * its intermediates (in DL4J's activations workspace, which lives until backprop ends), so backprop only
 * runs the backward operations, each written as one or a few ND4J calls.
 *
 * With LoRA the frozen weights get no gradient at all: each adapted module costs two rank-r products for dB,
 * where the SameDiff graph computes every frozen gradient and zeroes it.
 *
 * <p>Numerically this is the same function up to float rounding; {@code GradientCheckTest} and
 * {@code ArchitectureGradientTest} check every parameter's gradient in float64 and {@code EagerBlockTest} checks
 * outputs and gradients of each design against the SameDiff graph.
 */
public final class EagerBlockLayer extends org.deeplearning4j.nn.layers.samediff.SameDiffLayer {
    private static final double C1 = RowKernels.C1, C2 = RowKernels.C2;

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
                         INDArray out) {
    }

    /**
     * y = x·W (+ b) for weight {@code w} ([in, out]), with LoRA + s·(x·A)·B in each adapted module's columns: the
     * adapters as two rank-r products, never W + s·A·B materialised (a copy of every adapted weight per layer would
     * stay in the activations workspace until backprop ends).
     */
    private INDArray project(INDArray x, String w, String bias) {
        INDArray y = Matmul.times(x, paramTable.get(w));
        List<LoraTargets.Target> adapted = targets();
        for (int i = 0; i < adapted.size(); i++) {
            LoraTargets.Target t = adapted.get(i);
            if (t.param().equals(w)) {
                INDArray xa = Matmul.times(x, paramTable.get(LoraTargets.paramA(i)));          // [n, r]
                Matmul.gemm(xa, false, paramTable.get(LoraTargets.paramB(i)), false, columns(y, t.colOffset(),
                        t.colOffset() + t.out()), block().getLoraScale(), 1.0);
            }
        }
        INDArray b = bias == null ? null : paramTable.get(bias);
        return b == null ? y : y.addiRowVector(b.reshape(1, b.length()));
    }

    /** dL/dx = dy·Wᵀ of {@link #project}, with LoRA + s·(dy[module columns]·Bᵀ)·Aᵀ per adapted module. */
    private INDArray projectBackward(INDArray dy, String w) {
        INDArray dx = Matmul.timesTransposed(dy, paramTable.get(w));
        List<LoraTargets.Target> adapted = targets();
        for (int i = 0; i < adapted.size(); i++) {
            LoraTargets.Target t = adapted.get(i);
            if (t.param().equals(w)) {
                INDArray dyb = Matmul.timesTransposed(columns(dy, t.colOffset(), t.colOffset() + t.out()),
                        paramTable.get(LoraTargets.paramB(i)));                                 // [n, r]
                Matmul.gemm(dyb, false, paramTable.get(LoraTargets.paramA(i)), true, dx, block().getLoraScale(), 1.0);
            }
        }
        return dx;
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
        int h = b.getNHeads(), kv = b.kvHeads(), dh = b.getDModel() / h;
        long mb = in.size(0);
        int t = (int) in.size(2);
        long n = mb * t;
        Map<String, INDArray> p = paramTable;
        INDArray x = asRows(in);                                                    // [n, d], a copy only if needed

        // attention on N1(x)
        INDArray[] n1 = norm(x, rms(), b.getEps(), p.get(LN1_G), p.get(LN1_B));    // xhat, rstd, xhat·g + b
        INDArray a = n1[2];
        INDArray qkv = project(a, W_QKV, B_QKV);                      // [n, (H + 2·KV)·dh]
        long qd = (long) h * dh, kvd = (long) kv * dh;
        // q [mb, H, T, dh], k and v [mb, KV, T, dh]: views of the projection's columns [q | k | v] (rotary: new arrays)
        INDArray q = rotary(heads(qkv, 0, mb, t, h, dh), false), k = rotary(heads(qkv, qd, mb, t, kv, dh), false);
        INDArray v = heads(qkv, qd + kvd, mb, t, kv, dh);
        INDArray probs = Nd4j.createUninitialized(q.dataType(), mb, h, t, t);                // [mb, H, T, T]
        Matmul.perHead(q, false, k, true, probs, 1.0 / Math.sqrt(dh), 0.0);
        causalSoftmax(probs);
        INDArray att = Nd4j.createUninitialized(q.dataType(), n, qd);                         // heads side by side
        Matmul.perHead(probs, false, v, false, heads(att, 0, mb, t, h, dh), 1.0, 0.0);
        INDArray x1 = project(att, W_O, B_O).addi(x);

        // MLP on N2(x1)
        INDArray[] n2 = norm(x1, rms(), b.getEps(), p.get(LN2_G), p.get(LN2_B));
        INDArray m = n2[2];
        INDArray u = project(m, W_1, B_1);                            // [n, dFf] (SwiGLU: [n, 2·dFf])
        INDArray[] act = RowKernels.activation(u, swiglu());
        if (act == null) {
            act = activationOps(u);
        }
        INDArray sig = act[0], hid = act[1];
        INDArray out = project(hid, W_2, B_2).addi(x1);               // [n, d]
        return new Cache(in, mb, t, n1[0], n1[1], a, q, k, v, probs, att, n2[0], n2[1], m, u, sig, hid, out);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        Cache c = cache != null && cache.input == input ? cache : forward(input);
        cache = null;
        TransformerBlock b = block();
        int h = b.getNHeads(), kv = b.kvHeads(), dh = b.getDModel() / h, t = c.t;
        long mb = c.mb;
        INDArray dy = asRows(epsilon);                                              // dL/d out, [n, d]

        // MLP: out = x1 + act(m·W1 + b1)·W2 + b2
        linearGrads(c.hid, dy, W_2, B_2);
        INDArray dHid = projectBackward(dy, W_2);                            // dL/d hid
        INDArray dU = RowKernels.activationBackward(dHid, c.u, c.sig, swiglu());
        if (dU == null) {
            dU = activationBackwardOps(dHid, c.u, c.sig);
        }
        linearGrads(c.m, dU, W_1, B_1);
        INDArray dX1 = normBackward(projectBackward(dU, W_1), c.xhat2, c.rstd2, LN2_G, LN2_B, dy);

        // attention: x1 = x + att·Wo + bo
        linearGrads(c.att, dX1, W_O, B_O);
        long qd = (long) h * dh, kvd = (long) kv * dh;
        INDArray dAtt = heads(projectBackward(dX1, W_O), 0, mb, t, h, dh);         // [mb, H, T, dh], a view
        INDArray dQkv = Nd4j.createUninitialized(dAtt.dataType(), mb * t, qd + 2 * kvd);   // [n, (H + 2·KV)·dh]
        INDArray dq = heads(dQkv, 0, mb, t, h, dh), dk = heads(dQkv, qd, mb, t, kv, dh);
        INDArray dv = heads(dQkv, qd + kvd, mb, t, kv, dh);
        Matmul.perHead(c.probs, true, dAtt, false, dv, 1.0, 0.0);                                 // dV
        INDArray dP = Nd4j.createUninitialized(dAtt.dataType(), mb, h, t, t);                     // [mb, H, T, T]
        Matmul.perHead(dAtt, false, c.v, true, dP, 1.0, 0.0);
        INDArray dS = causalSoftmaxBackward(dP, c.probs);                                         // softmax'
        double scale = 1.0 / Math.sqrt(dh);
        Matmul.perHead(dS, false, c.k, false, dq, scale, 0.0);                                    // dQ
        Matmul.perHead(dS, true, c.q, false, dk, scale, 0.0);                                     // dK
        if (rotaryTables() != null) {
            dq.assign(rotary(dq, true));
            dk.assign(rotary(dk, true));
        }
        linearGrads(c.a, dQkv, W_QKV, B_QKV);
        INDArray dX = normBackward(projectBackward(dQkv, W_QKV), c.xhat1, c.rstd1, LN1_G, LN1_B, dX1);

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

    /** {@link RowKernels#activation} as ND4J ops (float64, other backends): {σ, hidden}. */
    private INDArray[] activationOps(INDArray u) {
        if (swiglu()) {   // silu(gate) ⊙ up
            int f = block().getDFf();
            INDArray gate = columns(u, 0, f);
            INDArray sig = Transforms.sigmoid(gate, true);
            return new INDArray[]{sig, gate.mul(sig).muli(columns(u, f, 2 * f))};
        }
        INDArray sig = Transforms.sigmoid(u.mul(u).muli(C2).addi(C1).muli(u), false);   // GELU, tanh form
        return new INDArray[]{sig, u.mul(sig)};
    }

    /** {@link RowKernels#activationBackward} as ND4J ops: dL/du from dL/dhidden ({@code dHid} is overwritten). */
    private INDArray activationBackwardOps(INDArray dHid, INDArray u, INDArray sig) {
        if (swiglu()) {
            int f = block().getDFf();
            INDArray gate = columns(u, 0, f), up = columns(u, f, 2 * f);
            INDArray dU = Nd4j.createUninitialized(dHid.dataType(), u.size(0), 2L * f);
            columns(dU, f, 2 * f).assign(gate.mul(sig).muli(dHid));                      // d up = dhid·silu(gate)
            INDArray slope = gate.mul(sig.rsub(1.0)).addi(1.0).muli(sig);                 // silu'(gate)
            columns(dU, 0, f).assign(dHid.muli(up).muli(slope));
            return dU;
        }
        INDArray slope = u.mul(u).muli(3 * C2).addi(C1).muli(u).muli(sig.rsub(1.0).muli(sig)).addi(sig);   // gelu'(u)
        return dHid.muli(slope);
    }

    private boolean rms() {
        return block().getNorm() == Architecture.Norm.RMS;
    }

    private boolean swiglu() {
        return block().getMlp() == Architecture.Mlp.SWIGLU;
    }

    /** Columns [from, to) of a matrix (a view). */
    private static INDArray columns(INDArray m, long from, long to) {
        return m.get(NDArrayIndex.all(), NDArrayIndex.interval(from, to));
    }

    /**
     * Columns [from, from + x·dh) of row-major [mb·T, width] rows as [mb, x, T, dh] heads: a view (its writes land in
     * {@code rows}), stepping dh between heads and width between positions.
     */
    static INDArray heads(INDArray rows, long from, long mb, int t, int x, int dh) {
        long width = rows.size(1);
        INDArray view = rows.reshape('c', mb, t, width).get(NDArrayIndex.all(), NDArrayIndex.all(),
                NDArrayIndex.interval(from, from + (long) x * dh)).reshape('c', mb, t, x, dh).permute(0, 2, 1, 3);
        long[] st = view.stride(), expected = {t * width, dh, width, 1};
        boolean ok = true;
        for (int i = 0; i < 4; i++) {
            ok &= view.size(i) == 1 || st[i] == expected[i];
        }
        if (!ok) {
            throw new IllegalStateException("heads: not a view of the rows (strides " + java.util.Arrays.toString(st) + ")");
        }
        return view;
    }

    /**
     * Rotary positions on [.., T, dh] (Hugging Face's half-split convention): x·cos + rotate_half(x)·sin with
     * rotate_half(x) = [−x2, x1]; {@code transposed} applies the transpose (the backward): d·cos + [d2, −d1]·sin
     * with d·sin's halves. Null rotary tables leave x as it is. Returns a new row-major array.
     */
    private INDArray rotary(INDArray x, boolean transposed) {
        INDArray[] cs = rotaryTables();
        if (cs == null) {
            return x;
        }
        int r = x.rank();
        long t = x.size(r - 2), dh = x.size(r - 1), half = dh / 2, rows = x.length() / (t * dh);
        INDArray flat = x.reshape('c', rows, t * dh);
        INDArray out = flat.mulRowVector(cs[0]), xs = flat.mulRowVector(cs[1]);
        INDArray o = out.reshape('c', rows * t, dh), s = xs.reshape('c', rows * t, dh);
        if (transposed) {
            columns(o, 0, half).addi(columns(s, half, dh));
            columns(o, half, dh).subi(columns(s, 0, half));
        } else {
            columns(o, 0, half).subi(columns(s, half, dh));
            columns(o, half, dh).addi(columns(s, 0, half));
        }
        return out.reshape('c', x.shape());
    }

    private INDArray[] rotaryTables;

    /**
     * {cos, sin} as [1, T·dh] rows for the current sequence length (made once per length, outside any workspace), or
     * null for a design without rotary positions.
     */
    private INDArray[] rotaryTables() {
        double[] invFreq = block().getRopeInvFreq();
        if (invFreq == null) {
            return null;
        }
        int t = (int) input.size(2);
        long length = (long) t * 2 * invFreq.length;
        if (rotaryTables == null || rotaryTables[0].length() != length || rotaryTables[0].dataType() != input.dataType()) {
            double[][] cs = TransformerBlock.rotaryTables(invFreq, t);
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                rotaryTables = new INDArray[]{Nd4j.create(cs[0]).reshape(1, cs[0].length).castTo(input.dataType()),
                        Nd4j.create(cs[1]).reshape(1, cs[1].length).castTo(input.dataType())};
            }
        }
        return rotaryTables;
    }

    /**
     * y = x·W (+ b): dW = xᵀ·dy, db = Σ rows of dy, written into the layer's gradient views (with LoRA: dB only; no
     * bias gradient where the design has no bias).
     */
    private void linearGrads(INDArray x, INDArray dy, String w, String bias) {
        if (adaptersOnly()) {
            adapterGrads(x, dy, w);
            return;
        }
        Matmul.gemm(x, true, dy, false, gradTable.get(w), 1.0, 0.0);
        if (gradTable.containsKey(bias)) {
            columnSums(dy, gradTable.get(bias));
        }
    }

    private static final ThreadLocal<INDArray> ONES = new ThreadLocal<>();

    /**
     * Σ over the rows of {@code m} ([n, k]) into {@code out} (a [1, k] view), as the product 1ᵀ·m: the BLAS
     * product measured several times faster than libnd4j's strided column reduction at these shapes.
     */
    static void columnSums(INDArray m, INDArray out) {
        columnSums(m, out, 0.0);
    }

    /** out = Σ rows of m + beta·out ({@link #columnSums(INDArray, INDArray)} that can accumulate). */
    static void columnSums(INDArray m, INDArray out, double beta) {
        long n = m.size(0);
        INDArray ones = ONES.get();
        if (ones == null || ones.length() < n || ones.dataType() != m.dataType()) {
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                ones = Nd4j.ones(m.dataType(), 1, Math.max(n, 4096));
            }
            ONES.set(ones);
        }
        INDArray row = ones.get(NDArrayIndex.point(0), NDArrayIndex.interval(0, n)).reshape(1, n);
        Matmul.gemm(row, false, m, false, out.reshape(1, out.length()), 1.0, beta);
    }

    /**
     * {xhat, rstd, xhat·g (+ b)} of the norm over rows: LayerNorm xhat = (x − mean)·rstd with rstd = (var + eps)^−½,
     * or RMSNorm ({@code rms}) xhat = x·rstd with rstd = (mean(x²) + eps)^−½ ([n, 1]); {@code bias} null for a norm
     * without one. {@link RowKernels} computes it on float32 row-major memory.
     */
    static INDArray[] norm(INDArray x, boolean rms, double eps, INDArray gain, INDArray bias) {
        INDArray[] fast = RowKernels.norm(x, rms, eps, gain, bias);
        if (fast != null) {
            return fast;
        }
        INDArray[] stats = stats(x, rms, eps);
        return new INDArray[]{stats[0], stats[1], scaleShift(stats[0], gain, bias)};
    }

    private static INDArray[] stats(INDArray x, boolean rms, double eps) {
        // the statistics as row reductions: one [n, d] array made (xhat), no centred or squared copy
        long n = x.size(0);
        if (rms) {
            INDArray ms = x.norm2(true, 1);
            INDArray rstd = Transforms.pow(ms.muli(ms).divi(x.size(1)).addi(eps), -0.5, false);
            return new INDArray[]{x.mulColumnVector(rstd), rstd};
        }
        INDArray rstd = Transforms.pow(x.var(false, 1).reshape(n, 1).addi(eps), -0.5, false);
        return new INDArray[]{x.subColumnVector(x.mean(true, 1)).muliColumnVector(rstd), rstd};
    }

    /** xhat·g (+ b when the norm has a bias). */
    static INDArray scaleShift(INDArray xhat, INDArray gain, INDArray bias) {
        INDArray y = xhat.mulRowVector(gain);
        return bias == null ? y : y.addiRowVector(bias);
    }

    private INDArray normBackward(INDArray dOut, INDArray xhat, INDArray rstd, String gain, String bias, INDArray residual) {
        boolean frozen = adaptersOnly();   // no gain or bias gradient for frozen norms
        return normBackward(dOut, xhat, rstd, rms(), paramTable.get(gain), frozen ? null : gradTable.get(gain),
                frozen ? null : gradTable.get(bias), residual);
    }

    /**
     * Backward of out = xhat·g (+ b): fills the gain and bias gradients ({@code dGain}, {@code dBias}, [1, d] views;
     * null skips one) and returns dL/dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)) with dxhat = dout·g, or
     * for RMSNorm rstd·(dxhat − xhat·mean(dxhat·xhat)), plus {@code residual} when not null (the gradient that
     * reaches x around the norm). {@link RowKernels} computes it on float32 row-major memory.
     */
    static INDArray normBackward(INDArray dOut, INDArray xhat, INDArray rstd, boolean rms, INDArray gain, INDArray dGain,
                                 INDArray dBias, INDArray residual) {
        INDArray fast = RowKernels.normBackward(dOut, xhat, rstd, rms, gain, dGain, dBias, residual);
        if (fast != null) {
            return fast;
        }
        if (dGain != null) {
            columnSums(dOut.mul(xhat), dGain);
        }
        if (dBias != null) {
            columnSums(dOut, dBias);
        }
        INDArray dxhat = dOut.mulRowVector(gain);
        INDArray proj = dxhat.mul(xhat).mean(true, 1);
        if (!rms) {
            dxhat.subiColumnVector(dxhat.mean(true, 1));
        }
        INDArray dx = dxhat.subi(xhat.mulColumnVector(proj)).muliColumnVector(rstd);
        return residual == null ? dx : dx.addi(residual);
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
        java.nio.FloatBuffer f = RowKernels.floats(scores);
        if (f == null) {
            return false;
        }
        long rows = scores.length() / t;
        int chunkRows = EagerDpoHead.chunkRows(t, RowKernels.CHUNK_FLOATS);
        float[] buf = new float[chunkRows * t];
        for (long r0 = 0; r0 < rows; r0 += chunkRows) {
            int cr = (int) Math.min(chunkRows, rows - r0);
            f.get((int) (r0 * t), buf, 0, cr * t);   // rows through a Java array: plain loops the JIT compiles tightly
            for (int k = 0; k < cr; k++) {
                // the row's keys j <= i, padded to whole vectors with -inf (e^-inf is 0 to float precision: the
                // exponential clamps it to e^-87), so the loops have no scalar tails
                int off = k * t, n = (int) ((r0 + k) % t) + 1, padded = Math.min(t, VectorMath.roundUpToLanes(n));
                java.util.Arrays.fill(buf, off + n, off + padded, Float.NEGATIVE_INFINITY);
                float max = VectorMath.max(buf, off, off + padded);
                float inv = (float) (1.0 / VectorMath.expShifted(buf, off, off + padded, max));
                for (int j = off; j < off + n; j++) {
                    buf[j] *= inv;
                }
                java.util.Arrays.fill(buf, off + n, off + t, 0f);
            }
            f.put((int) (r0 * t), buf, 0, cr * t);
        }
        return true;
    }

    /**
     * dL/dscores from dL/dprobs (overwritten) and the causal softmax's probabilities: per row (dP − Σ dP·P)·P, which is
     * 0 above the diagonal where P is. Java loops over j ≤ i on the CPU backend in float32, ND4J ops elsewhere.
     */
    static INDArray causalSoftmaxBackward(INDArray dP, INDArray probs) {
        int t = (int) probs.size(probs.rank() - 1);
        java.nio.FloatBuffer g = RowKernels.floats(dP), p = RowKernels.floats(probs);
        if (g == null || p == null) {
            long rows = probs.length() / t;
            INDArray dP2 = dP.reshape('c', rows, t), p2 = probs.reshape('c', rows, t);
            return dP2.subiColumnVector(dP2.mul(p2).sum(true, 1)).muli(p2).reshape('c', probs.shape());
        }
        long rows = probs.length() / t;
        int chunkRows = EagerDpoHead.chunkRows(t, RowKernels.CHUNK_FLOATS);
        float[] gb = new float[chunkRows * t], pb = new float[chunkRows * t];
        for (long r0 = 0; r0 < rows; r0 += chunkRows) {
            int cr = (int) Math.min(chunkRows, rows - r0), at = (int) (r0 * t);
            g.get(at, gb, 0, cr * t);
            p.get(at, pb, 0, cr * t);
            for (int k = 0; k < cr; k++) {
                int off = k * t, n = (int) ((r0 + k) % t) + 1;
                float d = (float) VectorMath.dot(gb, off, pb, off, n);
                for (int j = off; j < off + n; j++) {
                    gb[j] = (gb[j] - d) * pb[j];
                }
                java.util.Arrays.fill(gb, off + n, off + t, 0f);
            }
            g.put(at, gb, 0, cr * t);
        }
        return dP;
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
