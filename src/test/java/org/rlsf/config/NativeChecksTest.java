package org.rlsf.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class NativeChecksTest {
    @Test
    void onlyTheGpusCudaVisibleDevicesLeavesAreChecked() {
        List<GpuSupport.Gpu> gpus = GpuSupport.parse(List.of("0, NVIDIA A100, 8.0", "1, NVIDIA H100, 9.0", "2, NVIDIA A10, 8.6"));
        assertEquals(gpus, NativeChecks.visible(gpus, null));
        assertEquals(List.of(gpus.get(0), gpus.get(2)), NativeChecks.visible(gpus, "0, 2"));
        assertEquals(gpus, NativeChecks.visible(gpus, "GPU-8f6c1a2e-0000"), "UUIDs: all are checked");
        assertEquals(List.of(), NativeChecks.visible(gpus, "7"));
    }
}
