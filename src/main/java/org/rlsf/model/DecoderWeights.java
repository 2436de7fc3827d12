package org.rlsf.model;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.LayerNorm;
import org.nd4j.linalg.api.ops.impl.transforms.custom.XwPlusB;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.rlsf.config.ModelConfig;

import java.util.List;

/**
 * The parameters a decoder reads, in the forms its steps take them (views of the graph's arrays, so they see its
 * updates): per block as the fused ND4J ops take them, and, for heap steps, the projections as OpenBLAS sees them.
 * Also the ND4J forms of the graph's LayerNorm, GELU and affine maps.
 */
final class DecoderWeights {
    /** The LayerNorm epsilon at which libnd4j's fused layer_norm computes the graph's function. */
    private static final double FUSED_LAYER_NORM_EPS = 1e-5;
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
        this.hostWpe = host ? HostMatrix.of(weights.wpe()) : null;
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

    /** A rank-1 view of a parameter row vector (a view: it sees the graph's updates). */
    static INDArray vector(INDArray row) {
        return row.reshape(row.length());
    }

    /**
     * LayerNorm over the last dimension as the graph computes it ({@code SdOps.layerNorm}): (x − mean)/sqrt(var + eps)·g + b.
     * libnd4j's fused layer_norm takes no epsilon; it matches the graph at the default eps (1e-5, checked by
     * KvCacheDecoderTest), so any other configured eps takes the composed form.
     */
    INDArray layerNorm(INDArray x, INDArray gain, INDArray bias) {
        return layerNorm(x, gain, bias, x.ulike());
    }

    INDArray layerNorm(INDArray x, INDArray gain, INDArray bias, INDArray out) {
        if (model.layerNormEps() != FUSED_LAYER_NORM_EPS) {
            INDArray centred = x.sub(x.mean(true, 1));
            INDArray variance = centred.mul(centred).mean(true, 1);
            INDArray normed = centred.muli(Transforms.pow(variance.addi(model.layerNormEps()), -0.5, false));
            return out.assign(normed.muliRowVector(gain).addiRowVector(bias));
        }
        NativeContexts.exec(new LayerNorm(x, gain, bias, out, true, 1));
        return out;
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

    static INDArray xwPlusB(INDArray x, INDArray weight, INDArray bias) {
        return xwPlusB(x, weight, bias, Nd4j.createUninitialized(x.dataType(), x.size(0), weight.size(1)));
    }

    static INDArray xwPlusB(INDArray x, INDArray weight, INDArray bias, INDArray out) {
        NativeContexts.exec(new XwPlusB(new INDArray[]{x, weight, bias}, out));
        return out;
    }

}
