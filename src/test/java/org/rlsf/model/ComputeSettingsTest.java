package org.rlsf.model;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ComputeSettingsTest {
    @AfterEach
    void restoreDefault() {
        ComputeSettings.applyKernels("eager");
        ComputeSettings.applyDecoding("auto");
    }

    @Test
    void kernelsSettingSelectsTheBlockExecution() {
        ComputeSettings.applyKernels("samediff");
        assertTrue(ComputeSettings.sameDiffKernels());
        ComputeSettings.applyKernels("eager");
        assertFalse(ComputeSettings.sameDiffKernels());
    }

    @Test
    void unknownKernelsAreRejectedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ComputeSettings.applyKernels("fast"));
        assertEquals("compute.kernels must be \"eager\" or \"samediff\", was \"fast\"", e.getMessage());
        assertFalse(ComputeSettings.sameDiffKernels(), "a rejected value changes nothing");
    }

    @Test
    void decodingSettingSelectsTheStepsACheckpointDecodes() {
        org.rlsf.config.ModelConfig model = org.rlsf.TestModels.small(13);
        Checkpoint ckpt = new Checkpoint(org.rlsf.TestModels.graph(model, 8, org.nd4j.linalg.api.buffer.DataType.FLOAT),
                null, model, java.util.Map.of(), "");
        ComputeSettings.applyDecoding("nd4j");
        assertEquals(KvCacheDecoder.Attention.ND4J, ckpt.decoder(ComputeSettings.decoding()).attention());
        ComputeSettings.applyDecoding("heap");
        assertEquals(KvCacheDecoder.Attention.HEAP, ckpt.decoder(ComputeSettings.decoding()).attention());
        ComputeSettings.applyDecoding("auto");
        assertEquals(null, ComputeSettings.decoding());
        assertEquals(KvCacheDecoder.Attention.HEAP, ckpt.decoder(ComputeSettings.decoding()).attention(), "CPU, float32");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ComputeSettings.applyDecoding("java"));
        assertEquals("compute.decoding must be \"auto\", \"heap\" or \"nd4j\", was \"java\"", e.getMessage());
    }
}
