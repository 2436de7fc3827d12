package org.rlsf.model;

import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.TestModels;
import org.rlsf.config.ModelConfig;
import org.rlsf.io.FileStore;

import java.io.File;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointTest {
    private final FileStore store = FileStore.local();
    private final WordTokenizer tokenizer = WordTokenizer.train(List.of("Q: one two three\nA: 1+2=3."), 64);
    private final ModelConfig model = TestModels.small(tokenizer.vocabSize());

    private INDArray logits(ComputationGraph g) {
        INDArray features = Nd4j.create(new float[]{1, 5, 6, 7, 8, 9, 4, 3}, new long[]{1, 8});
        return g.outputSingle(false, features);
    }

    @Test
    void checkpointCommandWritesAWeightsOnlyCopyWithTheSameHash(@TempDir File dir) throws Exception {
        ComputationGraph g = TransformerLm.create(model, 8, new TransformerLm.Optimiser(1e-3, 0, 10, 1.0, 0.0, 0), DataType.FLOAT);
        g.getUpdater(true);                                    // optimiser state as after training
        Path full = new Path(dir.getAbsolutePath(), "full");
        String hash = Checkpoint.save(store, full, g, tokenizer, model, Map.of("corpus", "x.jsonl"));
        File slim = new File(dir, "slim");
        assertEquals(0, org.rlsf.job.Main.execute("checkpoint", "--from", full.toString(),
                "--weights-only-out", slim.getAbsolutePath()));
        Checkpoint copy = Checkpoint.load(store, new Path(slim.getAbsolutePath()));
        assertEquals(hash, copy.weightsSha256());
        assertEquals(logits(g), logits(copy.graph()));
        assertEquals("x.jsonl", copy.lineage().get("corpus"));
        assertTrue(new File(slim, "model.zip").length() < new File(dir, "full/model.zip").length(), "no optimiser state");
    }

    @Test
    void saveThenLoadGivesIdenticalOutputsAndLineage(@TempDir File dir) {
        ComputationGraph g = TestModels.graph(model, 8, DataType.FLOAT);
        Path target = new Path(dir.getAbsolutePath(), "ckpt");
        String hash = Checkpoint.save(store, target, g, tokenizer, model, Map.of("corpus", "x.jsonl", "steps", 3));
        Checkpoint loaded = Checkpoint.load(store, target);
        assertEquals(hash, loaded.weightsSha256());
        assertEquals(logits(g), logits(loaded.graph()));
        assertEquals(model, loaded.model());
        assertEquals(tokenizer.toJson(), loaded.tokenizer().toJson());
        assertEquals("x.jsonl", loaded.lineage().get("corpus"));
        // no staging directories are left behind
        assertEquals(List.of("ckpt"), List.of(dir.list()));
    }

    /** A copy with an edited lineage: the same files and weights, verified on the way; a damaged source fails. */
    @Test
    void copyKeepsTheFilesAndEditsTheLineage(@TempDir File dir) throws Exception {
        ComputationGraph g = TestModels.graph(model, 8, DataType.FLOAT);
        Path source = new Path(dir.getAbsolutePath(), "epoch");
        String hash = Checkpoint.save(store, source, g, tokenizer, model, Map.of("corpus", "x.jsonl"), true,
                Map.of("adapter/adapter_config.json", "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        Path target = new Path(dir.getAbsolutePath(), "final");
        assertEquals(hash, Checkpoint.copy(store, source, target, l -> {
            Map<String, Object> edited = new java.util.LinkedHashMap<>(l);
            edited.put("selected_epoch", 2);
            return edited;
        }));
        Checkpoint copy = Checkpoint.load(store, target);
        assertEquals(hash, copy.weightsSha256());
        assertEquals(logits(g), logits(copy.graph()));
        assertEquals("x.jsonl", copy.lineage().get("corpus"));
        assertEquals(2, copy.lineage().get("selected_epoch"));
        assertEquals(Map.of("adapter/adapter_config.json", "{}"), Map.of("adapter/adapter_config.json",
                new String(Checkpoint.extraFiles(store, target).get("adapter/adapter_config.json"), java.nio.charset.StandardCharsets.UTF_8)));
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(new File(dir, "epoch/model.zip").toPath()),
                Files.readAllBytes(new File(dir, "final/model.zip").toPath())));

        File zip = new File(dir, "epoch/model.zip");
        assertTrue(new File(dir, "epoch/.model.zip.crc").delete());   // our hash, not Hadoop's, must catch it
        try (RandomAccessFile raf = new RandomAccessFile(zip, "rw")) {
            raf.seek(zip.length() / 2);
            int b = raf.read();
            raf.seek(zip.length() / 2);
            raf.write(b ^ 0xFF);
        }
        Path again = new Path(dir.getAbsolutePath(), "again");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Checkpoint.copy(store, source, again, l -> l));
        assertTrue(e.getMessage().contains("model.zip is corrupted"), e.getMessage());
        assertFalse(new File(dir, "again").exists());
        assertEquals(List.of("epoch", "final"), List.of(dir.list()).stream().filter(n -> !n.startsWith(".")).sorted().toList());
    }

    @Test
    void trainingOutputDirectoryResolvesToItsCheckpoint(@TempDir File dir) {
        ComputationGraph g = TestModels.graph(model, 8, DataType.FLOAT);
        Checkpoint.save(store, new Path(new Path(dir.getAbsolutePath(), "run"), "checkpoint"), g, tokenizer, model, Map.of());
        assertEquals(model, Checkpoint.load(store, new Path(dir.getAbsolutePath(), "run")).model());
    }

    @Test
    void corruptedWeightsFileFailsWithAClearMessage(@TempDir File dir) throws Exception {
        assertCorruptionDetected(dir, false);
    }

    @Test
    void corruptionIsCaughtByOurHashWhenTheFileSystemHasNoChecksum(@TempDir File dir) throws Exception {
        assertCorruptionDetected(dir, true);
    }

    private void assertCorruptionDetected(File dir, boolean dropHadoopChecksum) throws Exception {
        ComputationGraph g = TestModels.graph(model, 8, DataType.FLOAT);
        Path target = new Path(dir.getAbsolutePath(), "ckpt");
        Checkpoint.save(store, target, g, tokenizer, model, Map.of());
        File zip = new File(dir, "ckpt/model.zip");
        if (dropHadoopChecksum) {
            assertTrue(new File(dir, "ckpt/.model.zip.crc").delete());
        }
        try (RandomAccessFile raf = new RandomAccessFile(zip, "rw")) {
            raf.seek(zip.length() / 2);
            int b = raf.read();
            raf.seek(zip.length() / 2);
            raf.write(b ^ 0xFF);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(store, target));
        assertTrue(e.getMessage().contains("model.zip is corrupted"), e.getMessage());
        assertTrue(e.getMessage().contains(target.toString()), e.getMessage());
    }

    @Test
    void aHalfWrittenDirectoryIsNotACheckpoint(@TempDir File dir) throws Exception {
        File half = new File(dir, "half");
        assertTrue(half.mkdirs());
        Files.writeString(new File(half, "model.zip").toPath(), "partial");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Checkpoint.load(store, new Path(half.getAbsolutePath())));
        assertTrue(e.getMessage().contains("has no checkpoint.json"), e.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> Checkpoint.load(store, new Path(dir.getAbsolutePath(), "nope")));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
    }

    @Test
    void aManifestWithoutItsHashesIsAClearErrorNotANullPointer(@TempDir File dir) throws Exception {
        Path ckpt = new Path(dir.getAbsolutePath(), "ckpt");
        Checkpoint.materializeBuiltin(store, "builtin:base", ckpt);
        Files.writeString(new File(dir, "ckpt/" + Checkpoint.MANIFEST).toPath(), "{\"format_version\": 1}");
        Files.deleteIfExists(new File(dir, "ckpt/." + Checkpoint.MANIFEST + ".crc").toPath());   // as another tool writes it
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(store, ckpt));
        assertTrue(e.getMessage().contains("lacks its \"files\" hashes"), e.getMessage());
    }

    @Test
    void savingAgainReplacesTheCheckpointAtomically(@TempDir File dir) {
        ComputationGraph g = TestModels.graph(model, 8, DataType.FLOAT);
        Path target = new Path(dir.getAbsolutePath(), "ckpt");
        String first = Checkpoint.save(store, target, g, tokenizer, model, Map.of());
        g.params().addi(0.01);
        String second = Checkpoint.save(store, target, g, tokenizer, model, Map.of());
        assertFalse(first.equals(second));
        assertEquals(second, Checkpoint.load(store, target).weightsSha256());
        assertEquals(List.of("ckpt"), List.of(dir.list()));
    }
}
