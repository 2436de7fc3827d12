package org.rlsf.io;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Lineage records keep the keys (and their order) that lineage.json readers, the report included, use. */
class LineageTest {
    @Test
    void trainLineageKeys() {
        Map<String, Object> m = Lineage.asMap(Lineage.Train.of("dpo", "file:/p", "r1", 582, 537, 45, "file:/b", "w", 0.2, 0.0,
                5e-5, 3, 11, "cfg", "v"));
        assertEquals(List.of("stage", "method", "pairs", "run_id", "pairs_total", "train_pairs", "heldout_pairs", "base",
                "base_weights_sha256", "beta", "label_smoothing", "learning_rate", "epochs", "seed", "config_hash",
                "code_version"), List.copyOf(m.keySet()));
        assertEquals("train", m.get("stage"));
        assertEquals(537, m.get("train_pairs"));
        assertEquals(0.2, m.get("beta"));
        m.put("epochs_completed", 1);   // a stage adds per-epoch facts
        assertEquals(1, m.get("epochs_completed"));
    }

    @Test
    void pretrainLineageKeys() {
        Map<String, Object> m = Lineage.asMap(Lineage.Pretrain.of(List.of("builtin:tiny-arith"), 0.7, 0.3, 6000, 7, 42, 96, 2,
                "cfg", "v"));
        assertEquals(List.of("stage", "corpus", "cot_fraction", "cot_opener_loss_fraction", "documents", "seed", "model_seed",
                "seq_len", "workers", "config_hash", "code_version"), List.copyOf(m.keySet()));
        assertEquals(List.of("builtin:tiny-arith"), m.get("corpus"));
        assertEquals("pretrain", m.get("stage"));
    }
}
