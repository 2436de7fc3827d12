package org.rlsf.pipeline;

import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.rlsf.config.CodeVersion;
import org.rlsf.config.PairPolicy;
import org.rlsf.config.PairsConfig;
import org.rlsf.config.RlsfConfig;
import org.rlsf.io.FileStore;
import org.rlsf.io.Manifests;
import org.rlsf.io.PairsTable;
import org.rlsf.io.RunLayout;
import org.rlsf.io.SparkSessions;
import org.rlsf.pairs.Candidate;
import org.rlsf.pairs.PairBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.countDistinct;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.greatest;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

/**
 * The pairs stage on Spark: per prompt, ranks the traces by confidence and writes preference pairs (method.md
 * §1.4–1.5). Reads only the traces table (no gold answers); the reference log-probs are the traces' own token
 * log-probs, summed.
 */
public final class PairsStage {
    private static final Logger LOG = LoggerFactory.getLogger(PairsStage.class);

    private PairsStage() {
    }

    /** Pairs from the traces table (every run, or {@code runId}'s) written to {@code table}. */
    public static void run(RlsfConfig config, FileStore store, Path traces, Path table, String runId) {
        PairsConfig c = config.pairs();
        SparkSession spark = SparkSessions.getOrCreate(config.spark());
        if (!store.exists(traces)) {
            throw new IllegalArgumentException("traces table " + traces + " does not exist");
        }
        Dataset<Row> df = spark.read().parquet(traces.toString());
        PairsTable.requireTracesSchema(df.schema(), traces.toString());
        if (runId != null) {
            df = df.filter(col("run_id").equalTo(runId));
        }
        // one pass over the traces for what the checks, the log and the manifests need (each Spark job costs ~0.5 s here)
        List<Row> summary = df.groupBy("run_id", "schema_version")
                .agg(count(when(col("error").isNotNull(), 1)).as("error_rows"), countDistinct("prompt_id").as("prompts"))
                .collectAsList();
        PairsTable.requireTracesVersions(summary.stream().map(r -> r.getInt(r.fieldIndex("schema_version"))).distinct().toList(),
                traces.toString());
        Map<String, Long> promptsByRun = new TreeMap<>();
        summary.forEach(r -> promptsByRun.merge(r.getString(r.fieldIndex("run_id")), r.getLong(r.fieldIndex("prompts")), Long::sum));
        if (promptsByRun.isEmpty()) {
            throw new IllegalArgumentException(traces + " has no traces" + (runId == null ? "" : " for run " + runId));
        }
        long errorRows = summary.stream().mapToLong(r -> r.getLong(r.fieldIndex("error_rows"))).sum();
        LOG.info("pairs from {} (runs {}), policy {}, threshold {}, cap {}{}", traces, promptsByRun.keySet(),
                c.policy().configName(), c.threshold(), c.maxPairsPerPrompt() == 0 ? "none" : c.maxPairsPerPrompt(),
                errorRows > 0 ? ", skipping " + errorRows + " error rows" : "");

        // 1) group each prompt's traces on the executors, build its pairs (the closure captures values only)
        PairPolicy policy = c.policy();
        double threshold = c.threshold();
        int cap = c.maxPairsPerPrompt();
        JavaRDD<Row> rows = df.filter(col("error").isNull())
                .select(Arrays.stream(PairsTable.TRACES_INPUT.fieldNames()).map(functions::col).toArray(Column[]::new))
                .javaRDD()
                .mapToPair(r -> new Tuple2<>(r.getString(r.fieldIndex("run_id")) + "\u0000" + r.getString(r.fieldIndex("prompt_id")), r))
                .groupByKey()
                .flatMap(g -> pairsOfPrompt(g._2(), policy, threshold, cap).iterator());
        spark.createDataFrame(rows, PairsTable.SCHEMA).write()
                .mode(SaveMode.Overwrite)
                .option("partitionOverwriteMode", "dynamic")
                .option("compression", "zstd")
                .partitionBy("run_id")
                .parquet(table.toString());

        // 2) a manifest per run after commit: counts and the confidence-margin histogram
        for (Map.Entry<String, Long> run : promptsByRun.entrySet()) {
            Manifests.PairsRun m = manifest(spark, store, table, run.getKey(), run.getValue(), traces, c);
            PairsTable.writeManifest(store, table, m);
            LOG.info(String.format("run %s: %d pairs from %d of %d prompts (%.2f per prompt with pairs)", m.runId(), m.pairs(),
                    m.promptsWithPairs(), m.prompts(), m.promptsWithPairs() == 0 ? 0.0 : m.pairs() / (double) m.promptsWithPairs()));
        }
        store.writeText(new Path(table, "_config.conf"), config.render());
    }

    /** Executor side: one prompt's trace rows in, its pair rows out. */
    private static List<Row> pairsOfPrompt(Iterable<Row> traceRows, PairPolicy policy, double threshold, int cap) {
        PairsTable.PromptInfo info = null;
        List<Candidate> candidates = new ArrayList<>();
        for (Row r : traceRows) {
            if (info == null) {
                info = PairsTable.promptInfo(r);
            }
            candidates.add(PairsTable.candidate(r));
        }
        List<Row> out = new ArrayList<>();
        for (PairBuilder.Pair p : PairBuilder.build(candidates, policy, threshold, cap)) {
            out.add(PairsTable.toRow(info, p, policy.configName(), threshold));
        }
        return out;
    }

    /** Counts and the margin histogram of what was written for one run, in one aggregation. */
    private static Manifests.PairsRun manifest(SparkSession spark, FileStore store, Path table, String runId, long prompts,
                                               Path traces, PairsConfig c) {
        Path part = RunLayout.runPartition(table, runId);
        long pairs = 0, withPairs = 0;
        long[] hist = new long[10];
        if (store.exists(part)) {
            Column bucket = least(greatest(floor(col("chosen_confidence").minus(col("rejected_confidence")).multiply(10)),
                    lit(0)), lit(9));
            List<Column> aggs = new ArrayList<>(List.of(countDistinct("prompt_id").as("prompts_with_pairs")));
            for (int b = 0; b < 10; b++) {
                aggs.add(count(when(bucket.equalTo(b), 1)).as("bucket_" + b));
            }
            Row r = spark.read().parquet(part.toString()).agg(count("*").as("pairs"), aggs.toArray(Column[]::new)).first();
            pairs = r.getLong(r.fieldIndex("pairs"));
            withPairs = r.getLong(r.fieldIndex("prompts_with_pairs"));
            for (int b = 0; b < 10; b++) {
                hist[b] = r.getLong(r.fieldIndex("bucket_" + b));
            }
        } else {
            store.mkdirs(part);   // a run without pairs still gets its manifest
        }
        Map<String, Long> h = new LinkedHashMap<>();
        for (int b = 0; b < 10; b++) {
            h.put(String.format("[%.1f,%.1f)", b / 10.0, (b + 1) / 10.0), hist[b]);
        }
        return Manifests.PairsRun.of(PairsTable.SCHEMA_VERSION, runId, traces.toString(), c.policy().configName(), c.threshold(),
                c.maxPairsPerPrompt(), prompts, pairs, withPairs, h, CodeVersion.get());
    }
}
