package org.rlsf.config;

import com.typesafe.config.Config;

/**
 * Shapes of the decoder-only transformer. Validated here so a bad size fails before any allocation.
 *
 * @param vocabSize     tokenizer vocabulary size V
 * @param dModel        residual width d
 * @param nLayers       number of pre-norm blocks
 * @param nHeads        attention heads; must divide dModel
 * @param dFf           MLP hidden width
 * @param contextLength maximum sequence length (rows of the learned position table)
 * @param layerNormEps  LayerNorm epsilon
 * @param initStd       standard deviation of the normal weight initialisation
 * @param seed          seed of the parameter initialisation
 * @param arch          the block design ({@link Architecture#CLASSIC}, rlsf's own, when absent: checkpoints written
 *                      before it existed load as that)
 */
public record ModelConfig(int vocabSize, int dModel, int nLayers, int nHeads, int dFf, int contextLength,
                          double layerNormEps, double initStd, long seed, Architecture arch) {
    /** rlsf's own block design. */
    public ModelConfig(int vocabSize, int dModel, int nLayers, int nHeads, int dFf, int contextLength,
                       double layerNormEps, double initStd, long seed) {
        this(vocabSize, dModel, nLayers, nHeads, dFf, contextLength, layerNormEps, initStd, seed, Architecture.CLASSIC);
    }

    public ModelConfig {
        if (arch == null) {
            arch = Architecture.CLASSIC;
        }
        require(vocabSize >= 4, "vocab-size must be >= 4, was " + vocabSize);
        require(dModel > 0, "d-model must be > 0, was " + dModel);
        require(nLayers > 0, "n-layers must be > 0, was " + nLayers);
        require(nHeads > 0 && dModel % nHeads == 0,
                "n-heads must be > 0 and divide d-model (" + dModel + "), was " + nHeads);
        require(dFf > 0, "d-ff must be > 0, was " + dFf);
        require(contextLength > 1, "context-length must be > 1, was " + contextLength);
        require(layerNormEps > 0, "layer-norm-eps must be > 0, was " + layerNormEps);
        require(initStd > 0, "init-std must be > 0, was " + initStd);
        int kv = arch.kvHeads() == 0 ? nHeads : arch.kvHeads();
        require(nHeads % kv == 0, "kv-heads must divide n-heads (" + nHeads + "), was " + kv);
    }

    public int headDim() {
        return dModel / nHeads;
    }

    /** Key/value heads: fewer than {@link #nHeads} with grouped-query attention. */
    public int kvHeads() {
        return arch.kvHeads() == 0 ? nHeads : arch.kvHeads();
    }

    /** Width of the fused q|k|v projection: (heads + 2·kv-heads)·head-dim. */
    public int qkvWidth() {
        return (nHeads + 2 * kvHeads()) * headDim();
    }

    /** Width of the first MLP projection: d-ff, or 2·d-ff for SwiGLU's fused gate|up. */
    public int mlpInWidth() {
        return arch.mlp() == Architecture.Mlp.SWIGLU ? 2 * dFf : dFf;
    }

    /** Parameter count of the graph built from this config (no weight tying). */
    public long parameterCount() {
        long norm = arch.norm() == Architecture.Norm.LAYER ? 2L * dModel : dModel;
        long block = 2 * norm + (long) dModel * qkvWidth() + (arch.qkvBias() ? qkvWidth() : 0)
                + (long) dModel * dModel + (arch.outBias() ? dModel : 0)
                + (long) dModel * mlpInWidth() + (arch.mlpBias() ? mlpInWidth() : 0)
                + (long) dFf * dModel + (arch.mlpBias() ? dModel : 0);
        long positions = arch.positions() == Architecture.Positions.LEARNED ? (long) contextLength * dModel : 0;
        return (long) vocabSize * dModel + positions + nLayers * block + norm
                + (long) dModel * vocabSize + (arch.headBias() ? vocabSize : 0);
    }

    static ModelConfig fromConfig(Config c, int vocabSize) {
        String name = c.getString("architecture");
        Architecture arch = switch (name) {
            case "rlsf" -> Architecture.CLASSIC;
            case "gpt2" -> Architecture.gpt2();
            case "llama" -> Architecture.llama(c.getInt("kv-heads"), c.getDouble("rope-theta"), null, false, false, false);
            default -> throw new IllegalArgumentException("rlsf.model.architecture must be one of rlsf | gpt2 | llama, was \"" + name + "\"");
        };
        return new ModelConfig(vocabSize, c.getInt("d-model"), c.getInt("n-layers"), c.getInt("n-heads"),
                c.getInt("d-ff"), c.getInt("context-length"), c.getDouble("layer-norm-eps"),
                c.getDouble("init-std"), c.getLong("seed"), arch);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("rlsf.model." + message);
        }
    }
}
