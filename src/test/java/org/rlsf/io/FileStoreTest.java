package org.rlsf.io;

import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Small-file writes replace whole files; appends never rewrite earlier lines (#23 item 5). */
class FileStoreTest {
    private final FileStore store = FileStore.local();

    @Test
    void writeTextReplacesThroughATemporaryFile(@TempDir java.nio.file.Path tmp) throws Exception {
        Path p = new Path(tmp.resolve("summary.json").toString());
        store.writeText(p, "{\"a\": 1}");
        store.writeText(p, "{\"a\": 2}");
        assertEquals("{\"a\": 2}", store.readText(p), "read back through the checksummed file system");
        try (var files = Files.list(tmp)) {
            List<String> left = files.map(f -> f.getFileName().toString()).filter(n -> n.contains(".tmp-")).toList();
            assertTrue(left.isEmpty(), "no temporary file left: " + left);
        }
    }

    @Test
    void appendLineAddsWithoutRewritingEarlierLines(@TempDir java.nio.file.Path tmp) throws Exception {
        Path p = new Path(tmp.resolve("metrics.jsonl").toString());
        store.appendLine(p, "{\"step\": 1}");
        long inode1 = (long) Files.getAttribute(tmp.resolve("metrics.jsonl"), "unix:ino");
        store.appendLine(p, "{\"step\": 2}");
        assertEquals("{\"step\": 1}\n{\"step\": 2}\n", store.readText(p));
        assertEquals(inode1, (long) Files.getAttribute(tmp.resolve("metrics.jsonl"), "unix:ino"),
                "the same file grew: appended, not rewritten and replaced");

        // a file first written through the checksummed file system (with a .crc beside it) still appends and reads
        Path q = new Path(tmp.resolve("log.jsonl").toString());
        store.writeText(q, "a\n");
        store.appendLine(q, "b");
        assertEquals("a\nb\n", store.readText(q));
        assertFalse(Files.exists(tmp.resolve(".log.jsonl.crc")), "the stale checksum is gone, not a read error");
    }

    @Test
    void aCommitKilledBetweenItsRenamesIsRecovered(@TempDir java.nio.file.Path tmp) throws Exception {
        Path target = new Path(tmp.resolve("checkpoint").toString());
        Path first = store.stagingFor(target);
        store.writeText(new Path(first, "a.txt"), "v1");
        store.commit(first, target);
        // the state a kill between commit's two renames leaves: the old version renamed aside, no target
        Files.move(tmp.resolve("checkpoint"), tmp.resolve(".checkpoint.old-killed"));
        assertTrue(store.recover(target));
        assertEquals("v1", store.readText(new Path(target, "a.txt")));
        assertFalse(store.recover(target), "nothing to do when the target is there");
        // and the next commit replaces it normally
        Path second = store.stagingFor(target);
        store.writeText(new Path(second, "a.txt"), "v2");
        Files.move(tmp.resolve("checkpoint"), tmp.resolve(".checkpoint.old-killed2"));   // killed again, then rerun
        store.commit(second, target);
        assertEquals("v2", store.readText(new Path(target, "a.txt")));
    }
}
