package org.rlsf.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.TestSpark;
import org.rlsf.evaluate.EvalMetrics;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.EvalTable;
import org.rlsf.io.FileStore;
import org.rlsf.model.Checkpoint;
import org.rlsf.tasks.ArithTask;
import org.rlsf.tasks.McqTask;
import org.rlsf.tasks.Problem;
import org.rlsf.corpus.TaskCorpus;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rlsf evaluate end to end on local[2]: per-problem table, summary aggregated on Spark == sequential. */
class EvaluateJobTest {
    private final FileStore store = FileStore.local();

    private static SparkSession spark() {
        return SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate();
    }

    @Test
    void greedyAndCotDecodingWriteTablesAndSummaries(@TempDir File dir) throws Exception {
        Checkpoint model = org.rlsf.generate.ShardGeneratorTestSupport.taskModel(160);
        File ckpt = new File(dir, "ckpt");
        Checkpoint.save(store, new Path(ckpt.getAbsolutePath()), model.graph(), model.tokenizer(), model.model(), Map.of());
        List<Problem> problems = new ArrayList<>(TaskCorpus.generate(new McqTask(), 8, 5, TaskCorpus.HELDOUT));
        problems.addAll(TaskCorpus.generate(new ArithTask(), 8, 5, TaskCorpus.HELDOUT));
        File corpus = new File(dir, "corpus");
        CorpusTable.write(spark(), store, new Path(corpus.getAbsolutePath()), problems, TaskCorpus.HELDOUT, "test", Map.of());

        for (String mode : List.of("greedy", "cot-decoding")) {
            File out = new File(dir, mode);
            assertEquals(0, Main.execute("evaluate", "--model", ckpt.getAbsolutePath(), "--corpus", corpus.getAbsolutePath(),
                    "--out", out.getAbsolutePath(), "--decoding", mode, "--set", "evaluate.k=3", "--set", "evaluate.shards=3",
                    "--set", "generate.max-new-tokens=8", "--set", "generate.max-answer-tokens=5"));
            Dataset<Row> table = spark().read().parquet(new File(out, "problems").getAbsolutePath());
            assertEquals(16, table.count());
            for (var f : EvalTable.SCHEMA.fields()) {
                assertTrue(table.schema().apply(f.name()).dataType().sameType(f.dataType()), f.name());
            }
            int k = mode.equals("greedy") ? 1 : 3;
            assertEquals(16, table.filter("size(branch_confidences) = " + k).count(), "K branches per problem");

            // the Spark-aggregated summary equals a sequential pass over the written rows
            EvalMetrics seq = new EvalMetrics();
            table.collectAsList().forEach(r -> seq.add(EvalTable.fromRow(r)));
            JsonNode summary = new ObjectMapper().readTree(new File(out, "summary.json"));
            assertEquals(mode, summary.get("decoding").asText());
            assertEquals(16, summary.get("all").get("problems").asInt());
            assertEquals(seq.accuracy(), summary.get("all").get("accuracy").asDouble(), 1e-12);
            assertEquals(seq.brier(), summary.get("all").get("brier").asDouble(), 1e-12);
            assertEquals(8, summary.get("by_task").get("mcq").get("problems").asInt());
            assertEquals(8, summary.get("by_task").get("arith").get("problems").asInt());
            assertEquals(seq.tokensPerProblem(), summary.get("all").get("generated_tokens_per_problem").asDouble(), 1e-12);
            List<String> csv = Files.readAllLines(new File(out, "summary.csv").toPath());
            assertEquals(4, csv.size(), "header + arith + mcq + all");
            assertEquals(1 + 3 * 10, Files.readAllLines(new File(out, "reliability.csv").toPath()).size());
        }
    }
}
