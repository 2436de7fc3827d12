package org.rlsf.job;

import com.typesafe.config.Config;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.rlsf.config.CodeVersion;
import org.rlsf.config.RlsfConfig;
import org.rlsf.io.FileStore;
import org.rlsf.io.PairsTable;
import org.rlsf.io.SparkSessions;
import org.rlsf.pairs.Candidate;
import org.rlsf.pairs.PairBuilder;
import org.rlsf.pairs.PairPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.countDistinct;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.greatest;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

/**
 * {@code rlsf pairs}: per prompt, ranks the traces by confidence and writes preference pairs
 * (method.md §1.4–1.5). Reads only the traces table (no gold answers); the reference log-probs are the
 * traces' own token log-probs, summed.
 */
@Command(name = "pairs", mixinStandardHelpOptions = true,
        description = "Rank each prompt's traces by confidence into chosen/rejected preference pairs (Parquet).")
final class PairsCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(PairsCommand.class);

    @Mixin
    ConfigOptions options;

    @Option(names = "--traces", required = true, paramLabel = "DIR", description = "A traces table from `rlsf generate`.")
    String traces;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The pairs table (partitioned by run_id).")
    String out;

    @Option(names = "--run-id", paramLabel = "ID", description = "Only this run of the traces table (default: every run in it).")
    String runId;

    @Override
    public Integer call() {
        RlsfConfig config = options.load();
        FileStore store = FileStore.local();
        Path table = FileStore.path(out);
        Console.logTo(Outputs.logFileFor(store, table, "pairs"));
        pairs(config, store, traces, table, runId);
        return 0;
    }

    /** The stage: pairs from the traces table (all runs, or {@code runId}'s) written to {@code table}. */
    static void pairs(RlsfConfig config, FileStore store, String traces, Path table, String runId) {
        Config c = config.raw().getConfig("pairs");
        PairPolicy policy = PairPolicy.parse(c.getString("policy"));
        double threshold = c.getDouble("threshold");
        int cap = c.getInt("max-pairs-per-prompt");
        SparkSession spark = SparkSessions.getOrCreate(config.raw().getConfig("spark"));

        Path tracesPath = FileStore.path(traces);
        if (!store.exists(tracesPath)) {
            throw new IllegalArgumentException("traces table " + traces + " does not exist");
        }
        Dataset<Row> df = spark.read().parquet(tracesPath.toString());
        PairsTable.requireTracesSchema(df.schema(), traces);
        if (runId != null) {
            df = df.filter(col("run_id").equalTo(runId));
        }
        // one pass over the traces for what the checks, the log and the manifests need (each Spark job costs ~0.5 s here)
        List<Row> summary = df.groupBy("run_id", "schema_version")
                .agg(count(when(col("error").isNotNull(), 1)), countDistinct("prompt_id"))
                .collectAsList();
        PairsTable.requireTracesVersions(summary.stream().map(r -> r.getInt(1)).distinct().toList(), traces);
        Map<String, Long> promptsByRun = new java.util.TreeMap<>();
        summary.forEach(r -> promptsByRun.merge(r.getString(0), r.getLong(3), Long::sum));
        List<String> runs = List.copyOf(promptsByRun.keySet());
        if (runs.isEmpty()) {
            throw new IllegalArgumentException(traces + " has no traces" + (runId == null ? "" : " for run " + runId));
        }
        long errorRows = summary.stream().mapToLong(r -> r.getLong(2)).sum();
        LOG.info("pairs from {} (runs {}), policy {}, threshold {}, cap {}{}", traces, runs, policy.configName(), threshold,
                cap == 0 ? "none" : cap, errorRows > 0 ? ", skipping " + errorRows + " error rows" : "");

        // 1) group each prompt's traces on the executors, build its pairs
        String policyName = policy.configName();
        JavaRDD<Row> rows = df.filter(col("error").isNull())
                .select(java.util.Arrays.stream(PairsTable.TRACES_INPUT.fieldNames()).map(org.apache.spark.sql.functions::col)
                        .toArray(org.apache.spark.sql.Column[]::new)).javaRDD()
                .mapToPair(r -> new Tuple2<>(r.getString(r.fieldIndex("run_id")) + "\u0000" + r.getString(r.fieldIndex("prompt_id")), r))
                .groupByKey()
                .flatMap(g -> {
                    List<Row> traceRows = new ArrayList<>();
                    g._2().forEach(traceRows::add);
                    Row first = traceRows.get(0);
                    PairsTable.PromptInfo info = new PairsTable.PromptInfo(first.getString(first.fieldIndex("run_id")),
                            first.getString(first.fieldIndex("prompt_id")), first.getString(first.fieldIndex("task")),
                            first.getString(first.fieldIndex("prompt")), ints(first.getList(first.fieldIndex("prompt_tokens"))),
                            first.getString(first.fieldIndex("model_id")), first.getString(first.fieldIndex("weights_sha256")));
                    List<Candidate> candidates = new ArrayList<>();
                    for (Row r : traceRows) {
                        candidates.add(candidate(r));
                    }
                    List<Row> out = new ArrayList<>();
                    for (PairBuilder.Pair p : PairBuilder.build(candidates, policy, threshold, cap)) {
                        out.add(PairsTable.toRow(info, p, policyName, threshold));
                    }
                    return out.iterator();
                });
        spark.createDataFrame(rows, PairsTable.SCHEMA).write()
                .mode(SaveMode.Overwrite)
                .option("partitionOverwriteMode", "dynamic")
                .option("compression", "zstd")
                .partitionBy("run_id")
                .parquet(table.toString());

        // 2) a manifest per run after commit: counts and the confidence-margin histogram
        for (String run : runs) {
            Path part = PairsTable.partition(table, run);
            long prompts = promptsByRun.get(run);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("table", "pairs");
            m.put("schema_version", PairsTable.SCHEMA_VERSION);
            m.put("run_id", run);
            m.put("traces", traces);
            m.put("policy", policyName);
            m.put("threshold", threshold);
            m.put("max_pairs_per_prompt", cap);
            m.put("prompts", prompts);
            long pairs = 0, withPairs = 0;
            long[] hist = new long[10];
            if (store.exists(part)) {
                // counts and the margin histogram of what was written, in one aggregation
                Column bucket = least(greatest(floor(col("chosen_confidence").minus(col("rejected_confidence")).multiply(10)),
                        lit(0)), lit(9));
                List<Column> aggs = new ArrayList<>(List.of(countDistinct("prompt_id")));
                for (int b = 0; b < 10; b++) {
                    aggs.add(count(when(bucket.equalTo(b), 1)));
                }
                Row r = spark.read().parquet(part.toString()).agg(count("*"), aggs.toArray(Column[]::new)).first();
                pairs = r.getLong(0);
                withPairs = r.getLong(1);
                for (int b = 0; b < 10; b++) {
                    hist[b] = r.getLong(2 + b);
                }
            } else {
                store.mkdirs(part);   // a run without pairs still gets its manifest
            }
            m.put("pairs", pairs);
            m.put("prompts_with_pairs", withPairs);
            Map<String, Long> h = new LinkedHashMap<>();
            for (int b = 0; b < 10; b++) {
                h.put(String.format("[%.1f,%.1f)", b / 10.0, (b + 1) / 10.0), hist[b]);
            }
            m.put("confidence_gap_histogram", h);
            m.put("code_version", CodeVersion.get());
            PairsTable.writeManifest(store, table, run, m);
            LOG.info(String.format("run %s: %d pairs from %d of %d prompts (%.2f per prompt with pairs)", run, pairs,
                    withPairs, prompts, withPairs == 0 ? 0.0 : pairs / (double) withPairs));
        }
        store.writeText(new Path(table, "_config.conf"), config.render());
    }

    static Candidate candidate(Row r) {
        List<Float> lp = r.getList(r.fieldIndex("token_logprobs"));
        double ref = 0;
        for (Float x : lp) {
            ref += x;
        }
        return new Candidate(r.getInt(r.fieldIndex("branch")), r.getString(r.fieldIndex("trace_text")),
                ints(r.getList(r.fieldIndex("trace_tokens"))), r.getString(r.fieldIndex("answer")),
                r.getDouble(r.fieldIndex("confidence")), ref);
    }

    private static int[] ints(List<Integer> xs) {
        int[] a = new int[xs.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = xs.get(i);
        }
        return a;
    }
}
