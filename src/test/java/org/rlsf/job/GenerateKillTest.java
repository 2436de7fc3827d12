package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.TestSpark;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.RunLayout;
import org.rlsf.model.Checkpoint;
import org.rlsf.tasks.McqTask;
import org.rlsf.tasks.Problem;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * rlsf generate killed for real (a separate JVM, SIGKILL) after its first shards commit: the rerun keeps every committed
 * shard untouched, decodes only the rest, and the table equals an uninterrupted run's row for row.
 */
class GenerateKillTest {
    private static final int SHARDS = 8;
    private final FileStore store = FileStore.local();

    private static List<String> args(File ckpt, File corpus, File out) {
        return List.of("generate", "--model", ckpt.getAbsolutePath(), "--corpus", corpus.getAbsolutePath(),
                "--out", out.getAbsolutePath(), "--run-id", "k", "--set", "generate.k=3", "--set", "generate.max-new-tokens=24",
                "--set", "generate.max-answer-tokens=5", "--set", "generate.shards=" + SHARDS, "--set", "generate.batch-rows=8");
    }

    @Test
    void aKilledGenerateKeepsItsCommittedShardsAndResumesToTheUninterruptedTable(@TempDir File dir) throws Exception {
        Checkpoint model = org.rlsf.generate.ShardGeneratorTestSupport.taskModel(160);
        File ckpt = new File(dir, "ckpt");
        Checkpoint.save(store, new Path(ckpt.getAbsolutePath()), model.graph(), model.tokenizer(), model.model(), Map.of());
        File corpus = new File(dir, "corpus");
        List<Problem> problems = TaskCorpus.generate(new McqTask(), 64, 9, TaskCorpus.HELDOUT);
        SparkSession spark = SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate();
        CorpusTable.write(spark, store, new Path(corpus.getAbsolutePath()), problems, TaskCorpus.HELDOUT, "test", Map.of());

        // the same command in its own JVM, killed with SIGKILL once a shard is committed
        File killed = new File(dir, "killed");
        KilledJvm.runUntil(args(ckpt, corpus, killed), new File(dir, "killed.log"), () -> {
            try {
                return !committedShards(killed).isEmpty();
            } catch (Exception e) {
                return false;
            }
        });
        Map<String, String> before = committedShards(killed);
        assertTrue(!before.isEmpty() && before.size() < SHARDS, "killed mid-run: " + before.size() + " of " + SHARDS + " shards committed");
        System.out.printf("generate killed (SIGKILL) with %d of %d shards committed%n", before.size(), SHARDS);

        // the rerun: committed shards untouched, the rest decoded, the same rows as an uninterrupted run
        assertEquals(0, Main.execute(args(ckpt, corpus, killed).toArray(new String[0])));
        Map<String, String> after = committedShards(killed);
        assertEquals(SHARDS, after.size());
        before.forEach((shard, files) -> assertEquals(files, after.get(shard), shard + " was rewritten"));
        File clean = new File(dir, "clean");
        assertEquals(0, Main.execute(args(ckpt, corpus, clean).toArray(new String[0])));
        assertEquals(content(spark, clean), content(spark, killed));
    }

    /** Committed shard directories (manifest present) → their data files with length and modification time. */
    private static Map<String, String> committedShards(File table) throws Exception {
        Map<String, String> out = new TreeMap<>();
        File run = new File(table, "run_id=k");
        File[] shards = run.listFiles(f -> f.getName().startsWith("shard="));
        if (shards == null) {
            return out;
        }
        for (File s : shards) {
            if (!new File(s, RunLayout.MANIFEST).isFile()) {
                continue;
            }
            StringBuilder files = new StringBuilder();
            File[] parts = s.listFiles(f -> f.getName().endsWith(".parquet"));
            java.util.Arrays.sort(parts);
            for (File f : parts) {
                files.append(f.getName()).append(' ').append(f.length()).append(' ').append(f.lastModified()).append('\n');
            }
            out.put(s.getName(), files.toString());
        }
        return out;
    }

    private static List<String> content(SparkSession spark, File table) {
        List<String> out = new ArrayList<>();
        for (Row r : spark.read().parquet(table.getAbsolutePath()).orderBy("prompt_id", "branch").select("prompt_id", "branch",
                "trace_tokens", "token_logprobs", "answer", "span_start", "span_end", "confidence", "error").collectAsList()) {
            out.add(r.toString());
        }
        return out;
    }
}
