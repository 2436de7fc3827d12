package org.rlsf.config;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GpuSupportTest {
    @Test
    void readsNvidiaSmisCsv() {
        List<GpuSupport.Gpu> gpus = GpuSupport.parse(List.of("0, NVIDIA A100-SXM4-80GB, 8.0", "1, NVIDIA H100 80GB HBM3, 9.0", ""));
        assertEquals(List.of(new GpuSupport.Gpu("0", "NVIDIA A100-SXM4-80GB", 80), new GpuSupport.Gpu("1", "NVIDIA H100 80GB HBM3", 90)),
                gpus);
        assertEquals("9.0", gpus.get(1).capabilityText());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GpuSupport.parse(List.of("0, Tesla T4, [N/A]")));
        assertTrue(e.getMessage().contains("Tesla T4") && e.getMessage().contains("[N/A]"), e.getMessage());
    }

    @Test
    void theBuildRunsOnCompute37To8xAndNothingNewer() {
        for (String ok : List.of("0, Tesla K80, 3.7", "0, Tesla V100, 7.0", "0, Tesla T4, 7.5", "0, NVIDIA A100, 8.0",
                "0, NVIDIA A10, 8.6", "0, NVIDIA L4, 8.9")) {
            assertTrue(GpuSupport.runs(GpuSupport.parse(List.of(ok)).get(0)), ok);
        }
        for (String no : List.of("0, Tesla K40, 3.5", "0, NVIDIA H100, 9.0", "0, NVIDIA H200, 9.0", "0, NVIDIA B200, 10.0")) {
            assertFalse(GpuSupport.runs(GpuSupport.parse(List.of(no)).get(0)), no);
        }
    }

    @Test
    void theRefusalNamesTheGpuItsCapabilityAndWhatWorks() {
        assertEquals(Optional.empty(), GpuSupport.refusal(GpuSupport.parse(List.of("0, NVIDIA A100, 8.0")), "h"));
        String m = GpuSupport.refusal(GpuSupport.parse(List.of("0, NVIDIA A100, 8.0", "1, NVIDIA H200, 9.0")), "gpu-node-3")
                .orElseThrow();
        for (String part : List.of("GPU 1", "gpu-node-3", "NVIDIA H200", "compute capability 9.0", "no kernel image",
                "CPU executors", "3.7 to 8.9")) {
            assertTrue(m.contains(part), part + " in: " + m);
        }
    }
}
