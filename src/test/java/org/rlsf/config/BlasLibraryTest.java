package org.rlsf.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** compute.blas-library: which OpenBLAS JavaCPP loads, decided before ND4J starts. */
class BlasLibraryTest {

    @Test
    void theSettingParsesAndDefaultsToTheBundledLibrary() {
        assertEquals(BlasLibrary.SYSTEM, BlasLibrary.parse(" System "));
        assertEquals(BlasLibrary.BUNDLED, ComputeConfig.defaults().blasLibrary());
        assertEquals(BlasLibrary.BUNDLED, RlsfConfig.load(null, List.of(), java.util.Map.of()).compute().blasLibrary());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BlasLibrary.parse("mkl"));
        assertTrue(e.getMessage().contains("compute.blas-library"), e.getMessage());
    }

    @Test
    void theHostLibraryIsLoadedWhenThereIsOneAndRequiredOnlyBySystem(@TempDir Path dir) {
        Path lib = dir.resolve(BlasLibrary.FILE);
        assertEquals("openblas", BlasLibrary.choose(BlasLibrary.AUTO, Optional.of(lib), "h"));
        assertEquals("openblas", BlasLibrary.choose(BlasLibrary.SYSTEM, Optional.of(lib), "h"));
        assertNull(BlasLibrary.choose(BlasLibrary.BUNDLED, Optional.of(lib), "h"));
        assertNull(BlasLibrary.choose(BlasLibrary.AUTO, Optional.empty(), "h"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> BlasLibrary.choose(BlasLibrary.SYSTEM, Optional.empty(), "worker-7"));
        assertTrue(e.getMessage().contains("worker-7") && e.getMessage().contains("libopenblas0-pthread")
                && e.getMessage().contains("compute.blas-library"), e.getMessage());
    }

    @Test
    void theFirstFolderHoldingTheLibraryWins(@TempDir Path dir) throws Exception {
        Path a = Files.createDirectories(dir.resolve("a")), b = Files.createDirectories(dir.resolve("b"));
        Path c = Files.createDirectories(dir.resolve("c"));
        Files.writeString(b.resolve(BlasLibrary.FILE), "");
        Files.writeString(c.resolve(BlasLibrary.FILE), "");
        assertEquals(Optional.of(b.resolve(BlasLibrary.FILE)), BlasLibrary.find(List.of(a, b, c)));
        assertEquals(Optional.empty(), BlasLibrary.find(List.of(a)));
    }

    @Test
    void executorsGetTheSettingThroughTheirEnvironment() {
        RlsfConfig c = RlsfConfig.load(null, List.of(), java.util.Map.of("compute.blas-library", "system"));
        assertEquals("system", c.spark().defaults().get("spark.executorEnv." + BlasLibrary.VARIABLE));
        assertEquals(BlasLibrary.SYSTEM, c.compute().blasLibrary());
    }
}
