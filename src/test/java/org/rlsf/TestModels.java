package org.rlsf;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.TransformerLm;

/** Small model shapes shared by tests. */
public final class TestModels {
    private TestModels() {
    }

    /** d=16, 2 blocks, 2 heads, context 24; initialised with a larger std so distributions are peaked. */
    public static ModelConfig small(int vocab) {
        return new ModelConfig(vocab, 16, 2, 2, 32, 24, 1e-5, 0.3, 11);
    }

    public static ComputationGraph graph(ModelConfig m, int seqLen, DataType type) {
        return TransformerLm.create(m, seqLen, TransformerLm.Optimiser.inferenceOnly(), type);
    }
}
