package org.rlsf.io;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.TestSpark;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.tasks.McqTask;
import org.rlsf.tasks.Problem;

import java.io.File;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CorpusTableTest {
    private final FileStore store = FileStore.local();

    private static SparkSession spark() {
        return SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate();
    }

    @Test
    void writeThenReadGivesTheSameProblemsInOrder(@TempDir File dir) {
        List<Problem> ps = TaskCorpus.generate(new McqTask(), 40, 3, TaskCorpus.HELDOUT);
        Path out = new Path(dir.getAbsolutePath(), "mcq");
        CorpusTable.write(spark(), store, out, ps, TaskCorpus.HELDOUT, "generated:mcq", Map.of("seed", 3));
        assertEquals(ps, CorpusTable.read(spark(), store, out));
        String schema = spark().read().parquet(out.toString()).schema().simpleString();
        assertEquals(CorpusTable.SCHEMA.simpleString(), schema);
        assertTrue(store.readText(new Path(out, CorpusTable.MANIFEST)).contains("\"rows\" : 40"));
        assertTrue(new File(dir, "mcq").list((d, n) -> n.endsWith(".zstd.parquet")).length > 0, "zstd files");
    }

    @Test
    void aTableWithTheWrongColumnsNamesThem(@TempDir File dir) throws Exception {
        Path out = new Path(dir.getAbsolutePath(), "odd");
        spark().range(3).toDF("problem_id").write().parquet(out.toString());
        Files.writeString(new File(dir, "odd/" + CorpusTable.MANIFEST).toPath(), "{\"schema_version\": 1}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CorpusTable.read(spark(), store, out));
        assertTrue(e.getMessage().contains("column problem_id is bigint, expected string"), e.getMessage());
        assertTrue(e.getMessage().contains("missing column question"), e.getMessage());
    }

    @Test
    void aNewerSchemaVersionIsRefused(@TempDir File dir) throws Exception {
        File d = new File(dir, "new");
        assertTrue(d.mkdirs());
        Files.writeString(new File(d, CorpusTable.MANIFEST).toPath(), "{\"schema_version\": 99}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CorpusTable.read(spark(), store, new Path(d.getAbsolutePath())));
        assertTrue(e.getMessage().contains("schema_version 99"), e.getMessage());
    }
}
