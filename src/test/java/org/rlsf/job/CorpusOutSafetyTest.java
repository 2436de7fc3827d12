package org.rlsf.job;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rlsf corpus --out never deletes what is not a corpus table unless asked to (#23 item 5). */
class CorpusOutSafetyTest {
    @TempDir
    Path tmp;

    private int corpus(Path out, String... extra) {
        String[] base = {"corpus", "--task", "arith", "--n", "3", "--out", out.toString()};
        String[] args = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return Main.execute(args);
    }

    @Test
    void aDirectoryHoldingOtherFilesIsRefusedAndKept() throws Exception {
        Path out = tmp.resolve("home");
        Files.createDirectories(out.resolve("project"));
        Files.writeString(out.resolve("notes.txt"), "keep me");
        assertNotEquals(0, corpus(out));
        assertEquals("keep me", Files.readString(out.resolve("notes.txt")));
        assertTrue(Files.isDirectory(out.resolve("project")));
        assertFalse(Files.exists(out.resolve("_logs")), "nothing written into it, not even the log");
        assertFalse(Files.exists(out.resolve("_MANIFEST.json")));

        assertEquals(0, corpus(out, "--overwrite"));   // asked for: replaced
        assertFalse(Files.exists(out.resolve("notes.txt")));
        assertTrue(Files.exists(out.resolve("_MANIFEST.json")));
    }

    @Test
    void aCorpusTableIsReplacedAndItsLogsKept() throws Exception {
        Path out = tmp.resolve("corpus");
        assertEquals(0, corpus(out));
        assertTrue(Files.isDirectory(out.resolve("_logs")));
        long logs;
        try (var s = Files.list(out.resolve("_logs"))) {
            logs = s.count();
        }
        assertEquals(0, corpus(out, "--seed", "2"));
        try (var s = Files.list(out.resolve("_logs"))) {
            assertTrue(s.count() >= logs, "the first run's log is still there");
        }
        assertEquals(0, corpus(tmp.resolve("fresh")), "an absent directory is created");
    }
}
