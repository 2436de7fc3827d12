package org.rlsf.model.graph;

import lombok.Data;
import lombok.EqualsAndHashCode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.config.Architecture;
import org.rlsf.config.ModelConfig;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.rlsf.config.LoraConfig;
import org.rlsf.model.LoraTargets;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One pre-norm transformer block: x + Attn(N1(x)), then + MLP(N2(x)). Causal multi-head self-attention with a
 * constant −1e9 bias above the diagonal (−inf would give NaN rows). Right padding needs no key mask: a real token
 * never attends to the padding after it. Input and output: [mb, d, T].
 *
 * <p>Parameters (weights stored [in, out], biases and norm gains [1, n]; no underscores in the names: DL4J's updater
 * splits gradient keys at the last '_'): ln1g, ln1b, wqkv [d, (H + 2·KV)·dh], bqkv, wo [d, d], bo, ln2g, ln2b,
 * w1 [d, dFf] (SwiGLU: [d, 2·dFf], gate | up), b1, w2 [dFf, d], b2. The column blocks of wqkv are [q | k | v], query
 * head h using columns h·dh … (h+1)·dh−1 of q and key/value head h / (H/KV) the same columns of k and v (grouped-query
 * attention; KV = H is plain multi-head). The architecture decides which exist: RMSNorm has no ln1b/ln2b, and each
 * bias group can be absent ({@link Architecture}).
 *
 * <p>Rotary positions (when {@link #getRopeInvFreq()} is set) rotate q and k in Hugging Face's half-split convention:
 * dimension i pairs with i + dh/2, at angle position·invFreq[i].
 *
 * <p>LoRA ({@link #withLora}): each targeted module ({@link LoraTargets}) adds parameters loraA{i} [in, r] and
 * loraB{i} [r, out], and the block computes with W + s·A·B in that module's columns. Only the B matrices train: every
 * other parameter of the block has the {@link Frozen} updater and no regularisation, and its gradient is zeroed before
 * DL4J clips the layer's gradient (so the clip sees B's gradient alone).
 *
 * <p>Training runs the hand-written kernels of {@link EagerBlockLayer} for every design (with adapters: dB only, no
 * frozen weight gradient); this graph is their reference ({@code compute.kernels = "samediff"}).
 */
@Data
@EqualsAndHashCode(callSuper = true)
public class TransformerBlock extends CorrectedSameDiffLayer {
    public static final String LN1_G = "ln1g", LN1_B = "ln1b", W_QKV = "wqkv", B_QKV = "bqkv",
            W_O = "wo", B_O = "bo", LN2_G = "ln2g", LN2_B = "ln2b", W_1 = "w1", B_1 = "b1",
            W_2 = "w2", B_2 = "b2";
    public static final double MASKED = -1e9;

    private int dModel;
    private int nHeads;
    private int dFf;
    private int seqLen;
    private int nLayers;
    private double eps;
    private double initStd;
    // the architecture; the initialisers are rlsf's own design, which configurations saved before these fields load as
    private Architecture.Norm norm = Architecture.Norm.LAYER;
    private Architecture.Mlp mlp = Architecture.Mlp.GELU_TANH;
    private int nKvHeads;
    private boolean qkvBias = true;
    private boolean outBias = true;
    private boolean mlpBias = true;
    /** Rotary inverse frequencies (dh/2), or null for none (learned positions are added before the blocks). */
    private double[] ropeInvFreq;
    /** LoRA rank (0 = no adapters), the factor on A·B, and the adapted modules' paths ({@link LoraTargets}). */
    private int loraRank;
    private double loraScale;
    private String[] loraModules;
    private boolean loraRslora;
    private double loraAlpha;

    public TransformerBlock() {
    }

    @Override
    protected org.deeplearning4j.nn.layers.samediff.SameDiffLayer eagerRuntime(NeuralNetConfiguration conf,
                                                                               DataType networkDataType) {
        return new EagerBlockLayer(conf, networkDataType);
    }

    @Override
    protected HalvedEpsilonLayer sameDiffRuntime(NeuralNetConfiguration conf, DataType networkDataType) {
        return loraRank > 0 ? new FrozenBaseRuntime(conf, networkDataType, frozenParams())
                : new HalvedEpsilonLayer(conf, networkDataType);
    }

    /** This block with LoRA adapters on the modules {@code lora} selects (none when its rank is 0). */
    public TransformerBlock withLora(LoraConfig lora) {
        if (lora.enabled()) {
            this.loraRank = lora.rank();
            this.loraScale = lora.scale();
            this.loraRslora = lora.rslora();
            this.loraAlpha = lora.alpha();
            this.loraModules = LoraTargets.resolve(mlp == Architecture.Mlp.SWIGLU, dModel, nHeads, kvHeads(), dFf,
                    lora.targetModules()).stream().map(LoraTargets.Target::module).toArray(String[]::new);
        }
        return this;
    }

    /** The adapted modules, in parameter order (empty without LoRA). */
    public List<LoraTargets.Target> loraTargets() {
        return loraRank == 0 ? List.of() : LoraTargets.resolve(mlp == Architecture.Mlp.SWIGLU, dModel, nHeads,
                kvHeads(), dFf, List.of(loraModules));
    }

    private boolean trainable(String param) {
        return loraRank == 0 || param.startsWith("loraB");
    }

    private List<String> frozenParams() {
        List<String> names = new ArrayList<>(List.of(LN1_G, LN1_B, W_QKV, B_QKV, W_O, B_O, LN2_G, LN2_B, W_1, B_1, W_2, B_2));
        for (int i = 0; i < loraModules.length; i++) {
            names.add(LoraTargets.paramA(i));
        }
        return names;
    }

    @Override
    public IUpdater getUpdaterByParam(String paramName) {
        return trainable(paramName) ? super.getUpdaterByParam(paramName) : new Frozen();
    }

    @Override
    public List<Regularization> getRegularizationByParam(String paramName) {
        return trainable(paramName) ? super.getRegularizationByParam(paramName) : List.of();
    }

    public TransformerBlock(int dModel, int nHeads, int dFf, int seqLen, int nLayers, double eps, double initStd) {
        this.dModel = dModel;
        this.nHeads = nHeads;
        this.nKvHeads = nHeads;
        this.dFf = dFf;
        this.seqLen = seqLen;
        this.nLayers = nLayers;
        this.eps = eps;
        this.initStd = initStd;
    }

    /** A block of {@code m}'s design at sequence length {@code seqLen}. */
    public TransformerBlock(ModelConfig m, int seqLen) {
        this(m.dModel(), m.nHeads(), m.dFf(), seqLen, m.nLayers(), m.layerNormEps(), m.initStd());
        Architecture a = m.arch();
        this.norm = a.norm();
        this.mlp = a.mlp();
        this.nKvHeads = m.kvHeads();
        this.qkvBias = a.qkvBias();
        this.outBias = a.outBias();
        this.mlpBias = a.mlpBias();
        this.ropeInvFreq = a.positions() == Architecture.Positions.ROPE ? a.inverseFrequencies(m.headDim()) : null;
    }

    /** Key/value heads (0 in configurations saved before grouped-query attention: as many as query heads). */
    public int kvHeads() {
        return nKvHeads == 0 ? nHeads : nKvHeads;
    }

    private int qkvWidth() {
        return (nHeads + 2 * kvHeads()) * (dModel / nHeads);
    }

    private int mlpInWidth() {
        return mlp == Architecture.Mlp.SWIGLU ? 2 * dFf : dFf;
    }

    @Override
    public void defineParameters(SDLayerParams params) {
        boolean layerNorm = norm == Architecture.Norm.LAYER;
        params.addBiasParam(LN1_G, 1, dModel);
        if (layerNorm) {
            params.addBiasParam(LN1_B, 1, dModel);
        }
        params.addWeightParam(W_QKV, dModel, qkvWidth());
        if (qkvBias) {
            params.addBiasParam(B_QKV, 1, qkvWidth());
        }
        params.addWeightParam(W_O, dModel, dModel);
        if (outBias) {
            params.addBiasParam(B_O, 1, dModel);
        }
        params.addBiasParam(LN2_G, 1, dModel);
        if (layerNorm) {
            params.addBiasParam(LN2_B, 1, dModel);
        }
        params.addWeightParam(W_1, dModel, mlpInWidth());
        if (mlpBias) {
            params.addBiasParam(B_1, 1, mlpInWidth());
        }
        params.addWeightParam(W_2, dFf, dModel);
        if (mlpBias) {
            params.addBiasParam(B_2, 1, dModel);
        }
        List<LoraTargets.Target> targets = loraTargets();
        for (int i = 0; i < targets.size(); i++) {
            params.addWeightParam(LoraTargets.paramA(i), targets.get(i).in(), loraRank);
            params.addWeightParam(LoraTargets.paramB(i), loraRank, targets.get(i).out());
        }
    }

    @Override
    public void initializeParameters(Map<String, INDArray> params) {
        // GPT-2 initialisation: N(0, std), residual projections scaled by 1/sqrt(2·layers)
        double residualStd = initStd / Math.sqrt(2.0 * nLayers);
        for (Map.Entry<String, INDArray> e : params.entrySet()) {
            INDArray a = e.getValue();
            switch (e.getKey()) {
                case LN1_G, LN2_G -> a.assign(1.0);
                case W_QKV, W_1 -> a.assign(Nd4j.randn(a.dataType(), a.shape()).muli(initStd));
                case W_O, W_2 -> a.assign(Nd4j.randn(a.dataType(), a.shape()).muli(residualStd));
                // LoRA: A as PEFT draws it (Kaiming-uniform with a = √5: U(±1/√in)), B zero
                default -> {
                    if (e.getKey().startsWith("loraA")) {
                        a.assign(Nd4j.rand(a.dataType(), a.shape()).muli(2).subi(1).muli(1.0 / Math.sqrt(a.size(0))));
                    } else {
                        a.assign(0.0);
                    }
                }
            }
        }
    }

    @Override
    public SDVariable defineLayer(SameDiff sd, SDVariable input, Map<String, SDVariable> p, SDVariable mask) {
        int d = dModel, h = nHeads, dh = dModel / nHeads, t = seqLen, kv = kvHeads(), qd = h * dh, kvd = kv * dh;
        SDVariable x = input.permute(0, 2, 1);                                              // [mb, T, d]

        // 1) attention on the normed input
        SDVariable a = norm(x, p, LN1_G, LN1_B).reshape(-1, d);                              // [mb·T, d]
        SDVariable w = weight(sd, p, W_QKV);
        SDVariable wq = w.get(SDIndex.all(), SDIndex.interval(0, qd));
        SDVariable wk = w.get(SDIndex.all(), SDIndex.interval(qd, qd + kvd));
        SDVariable wv = w.get(SDIndex.all(), SDIndex.interval(qd + kvd, qd + 2 * kvd));
        SDVariable bq = null, bk = null, bv = null;
        if (qkvBias) {
            SDVariable b = p.get(B_QKV).reshape(-1);   // rank 1: M2.1's strided_slice_bp fails on a [1, n] slice
            bq = b.get(SDIndex.interval(0, qd));
            bk = b.get(SDIndex.interval(qd, qd + kvd));
            bv = b.get(SDIndex.interval(qd + kvd, qd + 2 * kvd));
        }
        if (kv != h) {   // grouped-query attention: each key/value head's columns repeated for its query heads (exact)
            SDVariable expand = sd.constant(kvExpansion(kv, h / kv, dh, input.dataType()));   // [KV·dh, H·dh]
            wk = wk.mmul(expand);
            wv = wv.mmul(expand);
            if (qkvBias) {
                bk = bk.reshape(1, -1).mmul(expand);
                bv = bv.reshape(1, -1).mmul(expand);
            }
        }
        SDVariable q = heads(affine(a, wq, bq), t, h, dh);                                   // [mb, H, T, dh]
        SDVariable k = heads(affine(a, wk, bk), t, h, dh);
        SDVariable v = heads(affine(a, wv, bv), t, h, dh);
        if (ropeInvFreq != null) {
            double[][] cs = rotaryTables(ropeInvFreq, t);
            SDVariable cos = sd.constant(Nd4j.create(cs[0]).reshape(t, dh).castTo(input.dataType()));
            SDVariable sin = sd.constant(Nd4j.create(cs[1]).reshape(t, dh).castTo(input.dataType()));
            SDVariable rot = sd.constant(rotateHalf(dh, input.dataType()));
            q = rotate(q, cos, sin, rot, t, h, dh);
            k = rotate(k, cos, sin, rot, t, h, dh);
        }
        SDVariable scores = sd.mmul(q, k, false, true, false).mul(1.0 / Math.sqrt(dh));      // [mb, H, T, T]
        SDVariable causal = sd.constant(causalBias(t, input.dataType()));                    // [T, T]
        SDVariable probs = sd.nn.softmax(scores.add(causal), 3);
        SDVariable att = sd.mmul(probs, v)                                                  // [mb, H, T, dh]
                .permute(0, 2, 1, 3).reshape(-1, d);                                        // [mb·T, d]
        SDVariable attOut = affine(att, weight(sd, p, W_O), outBias ? p.get(B_O) : null).reshape(-1, t, d);
        SDVariable x1 = x.add(attOut);                                                       // residual

        // 2) MLP on the normed residual stream
        SDVariable m = norm(x1, p, LN2_G, LN2_B).reshape(-1, d);
        SDVariable u = affine(m, weight(sd, p, W_1), mlpBias ? p.get(B_1) : null);                  // [mb·T, dFf or 2·dFf]
        SDVariable hidden;
        if (mlp == Architecture.Mlp.SWIGLU) {
            SDVariable gate = u.get(SDIndex.all(), SDIndex.interval(0, dFf));
            SDVariable up = u.get(SDIndex.all(), SDIndex.interval(dFf, 2 * dFf));
            hidden = gate.mul(sd.nn.sigmoid(gate)).mul(up);                                  // silu(gate) ⊙ up
        } else {
            hidden = SdOps.gelu(sd, u);
        }
        SDVariable mlpOut = affine(hidden, weight(sd, p, W_2), mlpBias ? p.get(B_2) : null).reshape(-1, t, d);
        return x1.add(mlpOut).permute(0, 2, 1);                                             // [mb, d, T]
    }

    /** Parameter {@code name}, plus s·A·B in the columns of each adapted module it holds (LoRA). */
    private SDVariable weight(SameDiff sd, Map<String, SDVariable> p, String name) {
        SDVariable w = p.get(name);
        List<LoraTargets.Target> targets = loraTargets();
        List<SDVariable> pieces = new ArrayList<>();
        int col = 0;
        int rows = W_2.equals(name) ? dFf : dModel;
        int width = switch (name) {
            case W_QKV -> qkvWidth();
            case W_1 -> mlpInWidth();
            default -> dModel;
        };
        for (int i = 0; i < targets.size(); i++) {
            LoraTargets.Target t = targets.get(i);
            if (!t.param().equals(name)) {
                continue;
            }
            if (t.colOffset() > col) {
                pieces.add(sd.constant(Nd4j.zeros(w.dataType(), rows, t.colOffset() - col)));
            }
            pieces.add(p.get(LoraTargets.paramA(i)).mmul(p.get(LoraTargets.paramB(i))).mul(loraScale));
            col = t.colOffset() + t.out();
        }
        if (pieces.isEmpty()) {
            return w;
        }
        if (col < width) {
            pieces.add(sd.constant(Nd4j.zeros(w.dataType(), rows, width - col)));
        }
        return w.add(pieces.size() == 1 ? pieces.get(0) : sd.concat(1, pieces.toArray(new SDVariable[0])));
    }

    /**
     * The SameDiff runtime of a LoRA block: the frozen parameters' gradients are zeroed before DL4J's updater sees
     * them, so the per-layer clip measures the adapters' gradient alone.
     */
    static final class FrozenBaseRuntime extends HalvedEpsilonLayer {
        private final List<String> frozen;

        FrozenBaseRuntime(NeuralNetConfiguration conf, DataType dataType, List<String> frozen) {
            super(conf, dataType);
            this.frozen = frozen;
        }

        @Override
        public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
            Pair<Gradient, INDArray> out = super.backpropGradient(epsilon, workspaceMgr);
            for (String name : frozen) {
                INDArray g = out.getFirst().getGradientFor(name);
                if (g != null) {
                    g.assign(0);
                }
            }
            return out;
        }
    }

    private SDVariable norm(SDVariable x, Map<String, SDVariable> p, String gain, String bias) {
        return norm == Architecture.Norm.RMS ? SdOps.rmsNorm(x, p.get(gain), eps, 2)
                : SdOps.layerNorm(x, p.get(gain), p.get(bias), eps, 2);
    }

    private static SDVariable affine(SDVariable x, SDVariable w, SDVariable b) {
        SDVariable y = x.mmul(w);
        return b == null ? y : y.add(b);
    }

    private static SDVariable heads(SDVariable flat, int t, int h, int dh) {
        return flat.reshape(-1, t, h, dh).permute(0, 2, 1, 3);
    }

    /** x·cos + rotate_half(x)·sin on [mb, H, T, dh]; rotate_half as a product with a signed permutation. */
    private static SDVariable rotate(SDVariable x, SDVariable cos, SDVariable sin, SDVariable rot, int t, int h, int dh) {
        SDVariable rotated = x.reshape(-1, dh).mmul(rot).reshape(-1, h, t, dh);
        return x.mul(cos).add(rotated.mul(sin));
    }

    /**
     * cos and sin of position·invFreq for positions 0..T−1, each row [dh] with the half-frequencies repeated
     * (Hugging Face's {@code cat(freqs, freqs)}): {cos, sin} as row-major [T·dh], angles from
     * {@link Architecture#rotaryAngle}, cos and sin in double.
     */
    public static double[][] rotaryTables(double[] invFreq, int t) {
        int half = invFreq.length, dh = 2 * half;
        double[] cos = new double[t * dh], sin = new double[t * dh];
        for (int pos = 0; pos < t; pos++) {
            for (int i = 0; i < half; i++) {
                double angle = Architecture.rotaryAngle(pos, invFreq[i]);
                cos[pos * dh + i] = cos[pos * dh + i + half] = Math.cos(angle);
                sin[pos * dh + i] = sin[pos * dh + i + half] = Math.sin(angle);
            }
        }
        return new double[][]{cos, sin};
    }

    /** R with x·R = rotate_half(x) = [−x2, x1] (x = [x1, x2], halves of dh). */
    static INDArray rotateHalf(int dh, DataType type) {
        int half = dh / 2;
        INDArray r = Nd4j.zeros(type, dh, dh);
        for (int i = 0; i < half; i++) {
            r.putScalar(i + half, i, -1.0);   // out[i] = −x[i + half]
            r.putScalar(i, i + half, 1.0);    // out[i + half] = x[i]
        }
        return r;
    }

    /** E [KV·dh, H·dh] with (w·E) repeating each key/value head's dh columns for the group of query heads it serves. */
    static INDArray kvExpansion(int kv, int group, int dh, DataType type) {
        INDArray e = Nd4j.zeros(type, (long) kv * dh, (long) kv * group * dh);
        for (int j = 0; j < kv; j++) {
            for (int r = 0; r < group; r++) {
                for (int i = 0; i < dh; i++) {
                    e.putScalar((long) j * dh + i, ((long) j * group + r) * dh + i, 1.0);
                }
            }
        }
        return e;
    }

    /** [T, T] additive mask: 0 on and below the diagonal, −1e9 above it. */
    static INDArray causalBias(int t, DataType type) {
        INDArray bias = Nd4j.zeros(type, t, t);
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) {
                bias.putScalar(i, j, MASKED);
            }
        }
        return bias;
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        return InputType.recurrent(dModel, seqLen);
    }
}
