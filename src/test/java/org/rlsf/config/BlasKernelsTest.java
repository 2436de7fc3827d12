package org.rlsf.config;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlasKernelsTest {
    private static final BlasKernels.Cpu ZEN4 = new BlasKernels.Cpu("AMD EPYC 9B14", Set.of("sse3", "avx", "avx2", "fma",
            "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16"));
    private static final BlasKernels.Cpu ZEN2 = new BlasKernels.Cpu("AMD EPYC 7B12", Set.of("sse3", "avx", "avx2", "fma"));
    private static final BlasKernels.Cpu OLD = new BlasKernels.Cpu("Intel Xeon E5-2670", Set.of("sse3", "avx"));

    @Test
    void parsesTheFirstProcessorsModelAndFlags() {
        BlasKernels.Cpu cpu = BlasKernels.parse(List.of("processor\t: 0", "model name\t: AMD EPYC", "flags\t\t: fpu avx2 fma avx512f",
                "", "processor\t: 1", "model name\t: other", "flags\t\t: fpu"));
        assertEquals("AMD EPYC", cpu.model());
        assertEquals(Set.of("fpu", "avx2", "fma", "avx512f"), cpu.flags());
        assertEquals("unknown", BlasKernels.parse(List.of()).model());
    }

    @Test
    void autoPicksTheFastestSetTheCpuRuns() {
        assertEquals(Optional.of("SkylakeX"), BlasKernels.best(ZEN4));
        assertEquals(Optional.of("Haswell"), BlasKernels.best(ZEN2));
        assertEquals(Optional.empty(), BlasKernels.best(OLD));
        BlasKernels.Cpu partial = new BlasKernels.Cpu("x", Set.of("avx2", "fma", "avx512f"));   // AVX-512 F alone: not enough
        assertEquals(Optional.of("Haswell"), BlasKernels.best(partial));
    }

    @Test
    void resolvesAutoInheritAndANamedSet() {
        assertEquals(Optional.of("SkylakeX"), BlasKernels.resolve("auto", "Haswell", ZEN4), "auto overrides the environment");
        assertEquals(Optional.of("Haswell"), BlasKernels.resolve("inherit", "Haswell", ZEN4));
        assertEquals(Optional.empty(), BlasKernels.resolve("inherit", null, ZEN4));
        assertEquals(Optional.of("Sandybridge"), BlasKernels.resolve("auto", "Sandybridge", OLD), "nothing better: the environment's");
        assertEquals(Optional.empty(), BlasKernels.resolve("auto", null, OLD), "nothing better and nothing set: OpenBLAS detects");
        assertEquals(Optional.of("Zen"), BlasKernels.resolve("Zen", null, ZEN4));
    }

    @Test
    void aKernelSetTheCpuCannotRunIsRefusedWithTheHostCpuAndMissingInstructions() {
        assertEquals(Set.of(), BlasKernels.missing("SkylakeX", ZEN4));
        assertEquals(Set.of("avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl"), BlasKernels.missing("skylakex", ZEN2));
        assertEquals(Set.of("avx2", "fma"), BlasKernels.missing("Haswell", OLD));
        assertDoesNotThrow(() -> BlasKernels.requireRunnable("SkylakeX", ZEN4, "h"));
        assertDoesNotThrow(() -> BlasKernels.requireRunnable(null, OLD, "h"));
        assertDoesNotThrow(() -> BlasKernels.requireRunnable("Prescott", OLD, "h"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> BlasKernels.requireRunnable("SkylakeX", ZEN2, "worker-7"));
        for (String part : List.of("worker-7", "AMD EPYC 7B12", "SkylakeX", "avx512f", "compute.blas-kernels to Haswell")) {
            assertTrue(e.getMessage().contains(part), part + " in: " + e.getMessage());
        }
    }

    @Test
    void theSettingTakesAutoInheritOrAnOpenBlasCoreName() {
        assertEquals("auto", BlasKernels.validate("AUTO"));
        assertEquals("inherit", BlasKernels.validate("inherit"));
        assertEquals("SkylakeX", BlasKernels.validate("SkylakeX"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BlasKernels.validate("Skylake"));
        assertTrue(e.getMessage().contains("compute.blas-kernels") && e.getMessage().contains("skylakex"), e.getMessage());
    }

    @Test
    void theExecutorsGetTheResolvedSetUnlessASparkSettingSaysOtherwise() {
        Map<String, String> d = RlsfConfig.load(null, List.of(), Map.of("compute.blas-kernels", "Haswell")).spark().defaults();
        assertEquals("Haswell", d.get("spark.executorEnv.OPENBLAS_CORETYPE"));
        assertEquals("Zen", RlsfConfig.load(null, List.of(), Map.of("compute.blas-kernels", "Haswell",
                "spark.defaults.\"spark.executorEnv.OPENBLAS_CORETYPE\"", "Zen")).spark().defaults()
                .get("spark.executorEnv.OPENBLAS_CORETYPE"), "a Spark setting wins");
        assertEquals(BlasKernels.resolve("auto", System.getenv(BlasKernels.VARIABLE), BlasKernels.cpu()).orElse(null),
                RlsfConfig.load(null, List.of(), Map.of()).spark().defaults().get("spark.executorEnv.OPENBLAS_CORETYPE"));
        assertThrows(IllegalArgumentException.class, () -> RlsfConfig.load(null, List.of(), Map.of("compute.blas-kernels", "fast")));
    }
}
