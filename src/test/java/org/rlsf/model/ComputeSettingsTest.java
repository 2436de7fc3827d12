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
}
