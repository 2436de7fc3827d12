package org.rlsf.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.io.FileStore;
import org.rlsf.model.Checkpoint;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DPO resumes only from a complete epoch: {@code epochs/} exists before epoch 1's checkpoint commits, and a kill in
 * that window used to make every rerun of {@code rlsf run} fail with "nothing to resume".
 */
class TrainerStateTest {
    @TempDir
    Path out;

    private boolean complete() {
        return TrainerState.hasCompleteEpoch(FileStore.local(), FileStore.path(out.toString()));
    }

    @Test
    void onlyAnEpochWithItsCheckpointAndStateIsResumable() throws Exception {
        assertFalse(complete(), "no epochs/");
        Path epoch = Files.createDirectories(out.resolve("epochs/epoch-1"));
        assertFalse(complete(), "an empty epochs/epoch-1, as a kill right after it was created leaves it");
        Files.write(epoch.resolve(TrainerState.STATE), new byte[]{1, 2, 3});
        Files.writeString(epoch.resolve(TrainerState.TRAINER), "{\"epoch\":1,\"step\":8}");
        assertFalse(complete(), "the trainer state without the committed checkpoint");
        Files.createDirectories(epoch.resolve("checkpoint"));
        Files.writeString(epoch.resolve("checkpoint").resolve(Checkpoint.MANIFEST), "{}");
        assertTrue(complete());
    }
}
