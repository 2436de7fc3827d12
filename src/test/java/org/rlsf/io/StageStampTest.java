package org.rlsf.io;

import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A stage's stamp matches only the same command line, settings and inputs; logs and checksums do not count. */
class StageStampTest {
    @Test
    void aStampMatchesUntilTheCommandTheSettingsOrAnInputChange(@TempDir File dir) throws Exception {
        FileStore store = FileStore.local();
        File input = new File(dir, "in");
        Files.createDirectories(input.toPath().resolve("part"));
        Files.writeString(input.toPath().resolve("part/a.parquet"), "rows");
        Path in = new Path(input.getAbsolutePath()), out = new Path(new File(dir, "out").getAbsolutePath());
        Files.createDirectories(new File(dir, "out").toPath());
        Files.writeString(new File(dir, "out/part-0.parquet").toPath(), "the stage's output");
        Path file = StageStamp.file(out, "pairs", "r1");
        assertEquals("_STAGE-pairs-r1.json", file.getName());

        StageStamp stamp = StageStamp.of(store, "pairs", List.of("pairs", "--out", "x"), "h1", List.of(in), List.of(out));
        assertEquals("not done before", stamp.difference(store, file));
        stamp.write(store, file);
        assertTrue(StageStamp.of(store, "pairs", List.of("pairs", "--out", "x"), "h1", List.of(in), List.of(out)).matches(store, file));

        // logs, hidden checksum files and other stages' stamps inside an input do not change it
        Files.createDirectories(input.toPath().resolve("_logs"));
        Files.writeString(input.toPath().resolve("_logs/pairs.log"), "a line");
        Files.writeString(input.toPath().resolve(".a.parquet.crc"), "crc");
        Files.writeString(input.toPath().resolve("_STAGE-generate-r1.json"), "{}");
        assertNull(StageStamp.of(store, "pairs", List.of("pairs", "--out", "x"), "h1", List.of(in), List.of(out)).difference(store, file));

        assertTrue(StageStamp.of(store, "pairs", List.of("pairs", "--out", "y"), "h1", List.of(in), List.of(out)).difference(store, file)
                .startsWith("the command line differs"));
        assertTrue(StageStamp.of(store, "pairs", List.of("pairs", "--out", "x"), "h2", List.of(in), List.of(out)).difference(store, file)
                .startsWith("the settings differ"));
        Files.writeString(input.toPath().resolve("part/b.parquet"), "more rows");   // an input rewritten or grown
        assertTrue(StageStamp.of(store, "pairs", List.of("pairs", "--out", "x"), "h1", List.of(in), List.of(out)).difference(store, file)
                .startsWith("input "));
        StageStamp.of(store, "pairs", List.of("pairs", "--out", "x"), "h1", List.of(in), List.of(out)).write(store, file);
        Files.writeString(new File(dir, "out/part-1.parquet").toPath(), "an output written after the stamp");
        assertTrue(StageStamp.of(store, "pairs", List.of("pairs", "--out", "x"), "h1", List.of(in), List.of(out))
                .difference(store, file).startsWith("output "), "an output changed (or a shard deleted) since");
        Files.writeString(new File(file.toUri().getPath()).toPath(), "{not json");   // edited by hand: its checksum fails too
        assertFalse(stamp.matches(store, file), "an unreadable stamp means: do it again");
    }
}
