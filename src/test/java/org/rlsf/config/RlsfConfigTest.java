package org.rlsf.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RlsfConfigTest {
    @Test
    void layersReferenceThenEnvironmentThenFilesThenOverrides(@TempDir File dir) throws Exception {
        File env = new File(dir, "local.conf");
        Files.writeString(env.toPath(), "rlsf.model.d-model = 64\nrlsf.model.n-layers = 3\nrlsf.pretrain.epochs = 9");
        File exp = new File(dir, "exp.conf");
        Files.writeString(exp.toPath(), "rlsf.model.n-layers = 2\nrlsf.pretrain.epochs = 5");
        RlsfConfig c = RlsfConfig.load(env, List.of(exp), Map.of("pretrain.epochs", "7"));
        ModelConfig m = c.model(100);
        assertEquals(64, m.dModel());          // environment overlay
        assertEquals(2, m.nLayers());          // experiment file beats environment
        assertEquals(7, c.pretrain().epochs()); // --set beats both
        assertEquals(4, m.nHeads());           // reference.conf default
        assertEquals(100, m.vocabSize());
    }

    @Test
    void aMissingEnvironmentOverlayIsFineButAMissingConfigFileIsNot(@TempDir File dir) {
        RlsfConfig.load(new File(dir, "absent.conf"), List.of(), Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RlsfConfig.load(null, List.of(new File(dir, "nope.conf")), Map.of()));
        assertTrue(e.getMessage().contains("nope.conf"), e.getMessage());
    }

    @Test
    void unknownKeysAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RlsfConfig.load(null, List.of(), Map.of("pretrain.epochz", "3")));
        assertTrue(e.getMessage().contains("rlsf.pretrain.epochz"), e.getMessage());
    }

    @Test
    void invalidValuesFailWithTheKeyName() {
        RlsfConfig c = RlsfConfig.load(null, List.of(), Map.of("model.n-heads", "3"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.model(50));
        assertTrue(e.getMessage().contains("n-heads"), e.getMessage());
    }

    @Test
    void renderedConfigReloadsToTheSameHash(@TempDir File dir) throws Exception {
        RlsfConfig c = RlsfConfig.load(null, List.of(), Map.of("run.runs-dir", "hdfs://nn/runs", "spark.default-master", "local[2]"));
        File f = new File(dir, "resolved.conf");
        Files.writeString(f.toPath(), c.render());
        RlsfConfig back = RlsfConfig.load(null, List.of(f), Map.of());
        assertEquals(c.hash(), back.hash());
        assertEquals("local[2]", back.raw().getString("spark.default-master"));
        assertNotEquals(c.hash(), RlsfConfig.defaults().hash());
    }
}
