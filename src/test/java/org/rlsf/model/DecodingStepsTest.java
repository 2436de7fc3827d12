package org.rlsf.model;

import org.junit.jupiter.api.Test;
import org.rlsf.config.ComputeConfig.DecodingSteps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class DecodingStepsTest {
    @Test
    void computeDecodingSelectsTheStepsACheckpointDecodes() {
        org.rlsf.config.ModelConfig model = org.rlsf.TestModels.small(13);
        Checkpoint ckpt = new Checkpoint(org.rlsf.TestModels.graph(model, 8, org.nd4j.linalg.api.buffer.DataType.FLOAT),
                null, model, java.util.Map.of(), "");
        assertEquals(KvCacheDecoder.Attention.ND4J, ckpt.decoder(KvCacheDecoder.Attention.of(DecodingSteps.ND4J)).attention());
        assertEquals(KvCacheDecoder.Attention.HEAP, ckpt.decoder(KvCacheDecoder.Attention.of(DecodingSteps.HEAP)).attention());
        assertNull(KvCacheDecoder.Attention.of(DecodingSteps.AUTO), "auto: the backend decides");
        assertEquals(KvCacheDecoder.Attention.HEAP, ckpt.decoder(KvCacheDecoder.Attention.of(DecodingSteps.AUTO)).attention(),
                "CPU, float32");
    }
}
