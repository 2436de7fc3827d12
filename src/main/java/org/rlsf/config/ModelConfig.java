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
 */
public record ModelConfig(int vocabSize, int dModel, int nLayers, int nHeads, int dFf, int contextLength,
                          double layerNormEps, double initStd, long seed) {
    public ModelConfig {
        require(vocabSize >= 4, "vocab-size must be >= 4, was " + vocabSize);
        require(dModel > 0, "d-model must be > 0, was " + dModel);
        require(nLayers > 0, "n-layers must be > 0, was " + nLayers);
        require(nHeads > 0 && dModel % nHeads == 0,
                "n-heads must be > 0 and divide d-model (" + dModel + "), was " + nHeads);
        require(dFf > 0, "d-ff must be > 0, was " + dFf);
        require(contextLength > 1, "context-length must be > 1, was " + contextLength);
        require(layerNormEps > 0, "layer-norm-eps must be > 0, was " + layerNormEps);
        require(initStd > 0, "init-std must be > 0, was " + initStd);
    }

    public int headDim() {
        return dModel / nHeads;
    }

    /** Parameter count of the graph built from this config (no weight tying). */
    public long parameterCount() {
        long block = 4L * dModel + (long) dModel * 3 * dModel + 3L * dModel + (long) dModel * dModel + dModel
                + (long) dModel * dFf + dFf + (long) dFf * dModel + dModel;
        return (long) vocabSize * dModel + (long) contextLength * dModel + nLayers * block + 2L * dModel
                + (long) dModel * vocabSize + vocabSize;
    }

    static ModelConfig fromConfig(Config c, int vocabSize) {
        return new ModelConfig(vocabSize, c.getInt("d-model"), c.getInt("n-layers"), c.getInt("n-heads"),
                c.getInt("d-ff"), c.getInt("context-length"), c.getDouble("layer-norm-eps"),
                c.getDouble("init-std"), c.getLong("seed"));
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("rlsf.model." + message);
        }
    }
}
