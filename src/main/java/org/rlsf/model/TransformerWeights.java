package org.rlsf.model;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.graph.FinalLayerNorm;
import org.rlsf.model.graph.PositionEmbedding;
import org.rlsf.model.graph.TransformerBlock;

import java.util.ArrayList;
import java.util.List;

/**
 * Views of a {@link TransformerLm} graph's parameters, named for the eager inference path. They are
 * views, not copies: after the graph trains, a decoder built on these weights sees the new values.
 * What the architecture leaves out is null: {@code wpe} with rotary positions, norm biases with RMSNorm, each
 * absent bias group ({@link org.rlsf.config.Architecture}).
 */
public record TransformerWeights(INDArray wte, INDArray wpe, List<Block> blocks, INDArray lnfGain,
                                 INDArray lnfBias, INDArray wHead, INDArray bHead) {

    /** One block's parameters; shapes as documented on {@link TransformerBlock}. */
    public record Block(INDArray ln1g, INDArray ln1b, INDArray wQkv, INDArray bQkv, INDArray wO, INDArray bO,
                        INDArray ln2g, INDArray ln2b, INDArray w1, INDArray b1, INDArray w2, INDArray b2) {
    }

    public static TransformerWeights of(ComputationGraph graph, ModelConfig m) {
        List<Block> blocks = new ArrayList<>();
        for (int i = 0; i < m.nLayers(); i++) {
            var l = graph.getLayer(TransformerLm.block(i));
            blocks.add(new Block(l.getParam(TransformerBlock.LN1_G), l.getParam(TransformerBlock.LN1_B),
                    l.getParam(TransformerBlock.W_QKV), l.getParam(TransformerBlock.B_QKV),
                    l.getParam(TransformerBlock.W_O), l.getParam(TransformerBlock.B_O),
                    l.getParam(TransformerBlock.LN2_G), l.getParam(TransformerBlock.LN2_B),
                    l.getParam(TransformerBlock.W_1), l.getParam(TransformerBlock.B_1),
                    l.getParam(TransformerBlock.W_2), l.getParam(TransformerBlock.B_2)));
        }
        var norm = graph.getLayer(TransformerLm.FINAL_NORM);
        var head = graph.getLayer(TransformerLm.HEAD);
        var pos = graph.getConfiguration().getVertices().containsKey(TransformerLm.POS) ? graph.getLayer(TransformerLm.POS) : null;
        return new TransformerWeights(graph.getLayer(TransformerLm.EMBED).getParam("W"),
                pos == null ? null : pos.getParam(PositionEmbedding.WPE), List.copyOf(blocks),
                norm.getParam(FinalLayerNorm.GAIN), norm.getParam(FinalLayerNorm.BIAS),
                head.getParam("W"), head.getParam("b"));
    }
}
