package org.rlsf.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.XwPlusB;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.rlsf.config.Architecture;
import org.rlsf.config.ModelConfig;

import java.util.List;

/**
 * The parameters a decoder reads, in the forms its steps take them (views of the graph's arrays, so they see its
 * updates): per block as the fused ND4J ops take them, and, for heap steps, the projections as OpenBLAS sees them.
 * Also the ND4J forms of the graph's norms, GELU, SwiGLU, rotary positions and affine maps. Parameters the
 * architecture leaves out are null ({@link TransformerWeights}).
 */
final class DecoderWeights {
    final ModelConfig model;
    final TransformerWeights w;
    final List<Block> blocks;
    final INDArray lnfGain;
    final INDArray lnfBias;
    final INDArray bHead;
    final List<HostBlock> hostBlocks;   // heap steps only, else null
    final HostMatrix hostHead;
    final HostMatrix hostWte;
    final HostMatrix hostWpe;
    /** Rotary tables [context, dh/2] (cos and sin of position·invFreq), or null with learned positions. */
    final INDArray ropeCos;
    final INDArray ropeSin;
    final float[] hostRopeCos;
    final float[] hostRopeSin;

    DecoderWeights(ModelConfig model, TransformerWeights weights, boolean host) {
        this.model = model;
        this.w = weights;
        this.blocks = weights.blocks().stream().map(Block::of).toList();
        this.lnfGain = vector(weights.lnfGain());
        this.lnfBias = vector(weights.lnfBias());
        this.bHead = vector(weights.bHead());
        this.hostBlocks = host ? weights.blocks().stream().map(HostBlock::of).toList() : null;
        this.hostHead = host ? HostMatrix.of(weights.wHead()) : null;
        this.hostWte = host ? HostMatrix.of(weights.wte()) : null;
        this.hostWpe = host && weights.wpe() != null ? HostMatrix.of(weights.wpe()) : null;
        if (model.arch().positions() == Architecture.Positions.ROPE) {
            double[] inv = model.arch().inverseFrequencies(model.headDim());
            int ctx = model.contextLength(), half = inv.length;
            double[] cos = new double[ctx * half], sin = new double[ctx * half];
            for (int p = 0; p < ctx; p++) {
                for (int i = 0; i < half; i++) {
                    double angle = Architecture.rotaryAngle(p, inv[i]);
                    cos[p * half + i] = Math.cos(angle);
                    sin[p * half + i] = Math.sin(angle);
                }
            }
            DataType type = weights.wte().dataType();
            this.ropeCos = Nd4j.create(cos, new long[]{ctx, half}, DataType.DOUBLE).castTo(type);
            this.ropeSin = Nd4j.create(sin, new long[]{ctx, half}, DataType.DOUBLE).castTo(type);
            this.hostRopeCos = host ? ropeCos.castTo(DataType.FLOAT).data().asFloat() : null;
            this.hostRopeSin = host ? ropeSin.castTo(DataType.FLOAT).data().asFloat() : null;
        } else {
            this.ropeCos = this.ropeSin = null;
            this.hostRopeCos = this.hostRopeSin = null;
        }
    }

    boolean rms() {
        return model.arch().norm() == Architecture.Norm.RMS;
    }

    boolean swiglu() {
        return model.arch().mlp() == Architecture.Mlp.SWIGLU;
    }

    /** The norm of the graph at this point: LayerNorm or RMSNorm ({@code bias} null). */
    INDArray norm(INDArray x, INDArray gain, INDArray bias) {
        if (rms()) {
            INDArray rstd = Transforms.pow(x.mul(x).mean(true, 1).addi(model.layerNormEps()), -0.5, false);
            return x.mulColumnVector(rstd).muliRowVector(gain);
        }
        return layerNorm(x, gain, bias);
    }

    /**
     * Rotates the q and k columns of {@code qkv} ([n, (H + 2·KV)·dh], rows at positions {@code pos}) in place:
     * x·cos + rotate_half(x)·sin, halves i and i + dh/2 paired (Hugging Face's convention).
     */
    void rope(INDArray qkv, int[] pos) {
        int n = (int) qkv.size(0), dh = model.headDim(), half = dh / 2, hk = model.nHeads() + model.kvHeads();
        INDArray qk = qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(0, (long) hk * dh)).dup('c').reshape('c', n, hk, dh);
        INDArray cos = Nd4j.pullRows(ropeCos, 1, pos).reshape('c', n, 1, half);
        INDArray sin = Nd4j.pullRows(ropeSin, 1, pos).reshape('c', n, 1, half);
        INDArray x1 = qk.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, half));
        INDArray x2 = qk.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(half, dh));
        INDArray out1 = x1.mul(cos).subi(x2.mul(sin));
        INDArray out2 = x2.mul(cos).addi(x1.mul(sin));
        qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(0, (long) hk * dh))
                .assign(Nd4j.concat(2, out1, out2).reshape('c', n, (long) hk * dh));
    }

    /** SwiGLU's hidden from the fused [n, 2·dFf] gate|up projection: silu(gate) ⊙ up, [n, dFf]. */
    INDArray swiglu(INDArray gateUp) {
        int f = model.dFf();
        INDArray gate = gateUp.get(NDArrayIndex.all(), NDArrayIndex.interval(0, f));
        INDArray up = gateUp.get(NDArrayIndex.all(), NDArrayIndex.interval(f, 2 * f));
        return gate.mul(Transforms.sigmoid(gate, true)).muli(up);
    }

    /** A block's projection matrices for direct OpenBLAS calls. */
    record HostBlock(HostMatrix wQkv, HostMatrix wO, HostMatrix w1, HostMatrix w2) {
        static HostBlock of(TransformerWeights.Block b) {
            return new HostBlock(HostMatrix.of(b.wQkv()), HostMatrix.of(b.wO()), HostMatrix.of(b.w1()), HostMatrix.of(b.w2()));
        }
    }

    /** A block's parameters as the fused ops take them: gains and biases as rank-1 views. */
    record Block(INDArray ln1g, INDArray ln1b, INDArray wQkv, INDArray bQkv, INDArray wO, INDArray bO,
                         INDArray ln2g, INDArray ln2b, INDArray w1, INDArray b1, INDArray w2, INDArray b2) {
        static Block of(TransformerWeights.Block b) {
            return new Block(vector(b.ln1g()), vector(b.ln1b()), b.wQkv(), vector(b.bQkv()), b.wO(), vector(b.bO()),
                    vector(b.ln2g()), vector(b.ln2b()), b.w1(), vector(b.b1()), b.w2(), vector(b.b2()));
        }
    }

    /** A rank-1 view of a parameter row vector (a view: it sees the graph's updates); null stays null. */
    static INDArray vector(INDArray row) {
        return row == null ? null : row.reshape(row.length());
    }

    /**
     * LayerNorm over the last dimension as the graph computes it ({@code SdOps.layerNorm}): (x − mean)/sqrt(var + eps)·g + b,
     * composed of ND4J ops. libnd4j's fused layer_norm is not this function: against a PyTorch reference of GPT-2
     * ({@code HfImportTest}) it put the decoder's log-probabilities up to 5.5e-4 off where the composed form stays
     * within 7e-6 (the probabilities KvCacheDecoderTest compares differ by less than its 1e-4, which hid it).
     */
    INDArray layerNorm(INDArray x, INDArray gain, INDArray bias) {
        INDArray centred = x.sub(x.mean(true, 1));
        INDArray variance = centred.mul(centred).mean(true, 1);
        INDArray normed = centred.muli(Transforms.pow(variance.addi(model.layerNormEps()), -0.5, false));
        return normed.muliRowVector(gain).addiRowVector(bias);
    }

    /**
     * The graph's tanh-approximate GELU ({@code SdOps.gelu}), in place and in 6 ops: 0.5·x·(1 + tanh(u)) = x·σ(2u)
     * with 2u = x·(c1 + c2·x²). libnd4j's precise_gelu is not this function (max |Δp| 4e-3 in KvCacheDecoderTest).
     */
    static void gelu(INDArray x) {
        gelu(x, x.ulike());
    }

    /** {@link #gelu(INDArray)} with {@code t} (x's shape) as scratch. */
    static void gelu(INDArray x, INDArray t) {
        double c1 = 2 * Math.sqrt(2.0 / Math.PI);
        NativeContexts.exec(new MulOp(x, x, t));
        t.muli(c1 * 0.044715).addi(c1);
        NativeContexts.exec(new MulOp(t, x, t));
        NativeContexts.exec(new MulOp(x, Transforms.sigmoid(t, false), x));
    }

    /** x·W + b, or x·W when {@code bias} is null. */
    static INDArray xwPlusB(INDArray x, INDArray weight, INDArray bias) {
        return xwPlusB(x, weight, bias, Nd4j.createUninitialized(x.dataType(), x.size(0), weight.size(1)));
    }

    static INDArray xwPlusB(INDArray x, INDArray weight, INDArray bias, INDArray out) {
        if (bias == null) {
            return x.mmul(weight, out);
        }
        NativeContexts.exec(new XwPlusB(new INDArray[]{x, weight, bias}, out));
        return out;
    }

}
