package org.rlsf.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import org.rlsf.config.CodeVersion;
import org.rlsf.config.RlsfConfig;
import org.rlsf.generate.ShardGenerator;
import org.rlsf.generate.TraceRecord;
import org.rlsf.generate.TraceScorer;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.SparkSessions;
import org.rlsf.io.TracesTable;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.ComputeSettings;
import org.rlsf.model.ModelCache;
import org.rlsf.tasks.Problem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32;

/**
 * {@code rlsf generate}: Spark partitions the prompts into shards; each executor loads the frozen
 * model once (from its path), CoT-decodes and scores its shard, and the traces table is written
 * partitioned by run_id and shard. Shards already committed under the same run id are skipped.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Self-feedback data on Spark: CoT-decode every prompt, locate answer spans, score confidence, write the traces table.")
final class GenerateCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(GenerateCommand.class);

    @Mixin
    ConfigOptions options;

    @Option(names = "--model", required = true, paramLabel = "CKPT", description = "The frozen base model (checkpoint directory).")
    String model;

    @Option(names = "--corpus", required = true, paramLabel = "DIR", description = "A corpus table from `rlsf corpus` (answers are not read).")
    String corpus;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The traces table (partitioned by run_id, shard).")
    String out;

    @Option(names = "--run-id", paramLabel = "ID", defaultValue = "default",
            description = "Run id (partition); rerunning an id resumes it (default: ${DEFAULT-VALUE}).")
    String runId;

    /** One shard of prompts, as shipped to an executor. */
    record ShardWork(int shard, List<Problem> problems) implements Serializable {
    }

    @Override
    public Integer call() {
        RlsfConfig config = options.load();
        FileStore store = FileStore.local();
        Path table = FileStore.path(out);
        Console.logTo(Outputs.logFileFor(store, table, "generate"));
        generate(config, store, model, corpus, table, runId);
        return 0;
    }

    /** The stage: traces of every prompt of {@code corpus} under {@code model}, written to {@code table}. */
    static void generate(RlsfConfig config, FileStore store, String model, String corpus, Path table, String runId) {
        SparkSession spark = SparkSessions.getOrCreate(config.raw().getConfig("spark"));
        JavaSparkContext jsc = SparkSessions.javaContext(spark);
        Config g = config.raw().getConfig("generate");
        ShardGenerator.Settings settings = settings(g, g.getInt("k"));
        int shards = g.getInt("shards");

        // 1) prompts (no gold answers), the model's identity, the run's fixed columns
        List<Problem> problems = CorpusTable.readPrompts(spark, store, FileStore.path(corpus));
        String modelPath = store.qualify(FileStore.path(model));
        Checkpoint ckpt = ModelCache.get(modelPath);
        Path runDir = new Path(table, "run_id=" + runId);
        Path runFile = new Path(runDir, "_RUN.json");
        long generatedAt = resumeOrStart(store, runFile, ckpt.weightsSha256(), shards);
        TracesTable.RunInfo run = new TracesTable.RunInfo(runId, modelPath, ckpt.weightsSha256(),
                g.getLong("seed"), config.hash(), generatedAt);
        store.writeText(new Path(runDir, "_config.conf"), config.render());

        // 2) shards, skipping committed ones
        TreeMap<Integer, List<Problem>> byShard = new TreeMap<>();
        for (Problem p : problems) {
            byShard.computeIfAbsent(shardOf(p.problemId(), shards), k -> new ArrayList<>()).add(p);
        }
        List<ShardWork> pending = new ArrayList<>();
        byShard.forEach((shard, ps) -> {
            if (!TracesTable.isCommitted(store, table, runId, shard)) {
                pending.add(new ShardWork(shard, ps));
            }
        });
        int pendingPrompts = pending.stream().mapToInt(w -> w.problems().size()).sum();
        LOG.info("generate run {}: {} prompts in {} shards; {} shards ({} prompts) to do, K={}, max_new_tokens={}, span={}",
                runId, problems.size(), byShard.size(), pending.size(), pendingPrompts, settings.k(),
                settings.maxNewTokens(), settings.spanMethod());
        if (pending.isEmpty()) {
            LOG.info("nothing to do: every shard of run {} is committed", runId);
            return;
        }

        // 3) decode on the executors, write the pending partitions
        LongAccumulator tokens = jsc.sc().longAccumulator("rlsf.generated_tokens");   // progress display only
        Progress progress = new Progress(pending, System.nanoTime(), tokens);
        spark.sparkContext().addSparkListener(progress);
        jsc.setJobGroup("rlsf-generate", "generate " + runId);
        JavaRDD<Row> rows = jsc.parallelize(pending, pending.size()).flatMap(new DecodeShard(modelPath, settings, run, tokens));
        spark.conf().set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS");   // readable beyond Spark
        spark.createDataFrame(rows, TracesTable.SCHEMA).write()
                .mode(SaveMode.Overwrite)
                .option("partitionOverwriteMode", "dynamic")
                .option("compression", "zstd")
                .partitionBy("run_id", "shard")
                .parquet(table.toString());
        spark.sparkContext().removeSparkListener(progress);

        // 4) manifests after commit, with counts from the written data: one aggregation over the run's shards
        Map<Integer, long[]> written = new java.util.HashMap<>();
        for (Row r : spark.read().parquet(new Path(table, "run_id=" + runId).toString()).groupBy("shard")
                .agg(org.apache.spark.sql.functions.count("*"),
                        org.apache.spark.sql.functions.expr("count_if(error IS NOT NULL)"),
                        org.apache.spark.sql.functions.expr("count_if(error IS NULL AND span_end = span_start)"))
                .collectAsList()) {
            written.put(((Number) r.get(0)).intValue(), new long[]{r.getLong(1), r.getLong(2), r.getLong(3)});
        }
        long traces = 0, errors = 0, zero = 0;
        for (ShardWork w : pending) {
            long[] c = written.getOrDefault(w.shard(), new long[3]);
            long n = c[0];
            long e = c[1];
            long z = c[2];
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("table", "traces");
            m.put("schema_version", TracesTable.SCHEMA_VERSION);
            m.put("run_id", runId);
            m.put("shard", w.shard());
            m.put("prompts", w.problems().size());
            m.put("rows", n);
            m.put("error_rows", e);
            m.put("zero_confidence_rows", z);
            m.put("code_version", CodeVersion.get());
            TracesTable.writeManifest(store, table, runId, w.shard(), m);
            traces += n;
            errors += e;
            zero += z;
        }
        double secs = (System.nanoTime() - progress.start) / 1e9;
        LOG.info(String.format("wrote %d traces (%d error rows; %d with no answer span) for %d prompts in %s "
                        + "(%.2f prompts/s, %,.0f generated tokens/s) to %s", traces, errors, zero, pendingPrompts,
                org.rlsf.train.PretrainStage.duration(secs), pendingPrompts / secs, tokens.value() / secs, table));
    }

    /**
     * The run's fixed facts, recorded when it starts: a rerun of the same id must use the same model
     * and shard count (else its shards would mix), and reuses the start time so rows stay identical.
     */
    static long resumeOrStart(FileStore store, Path runFile, String weightsSha256, int shards) {
        ObjectMapper json = new ObjectMapper();
        if (store.exists(runFile)) {
            Map<?, ?> run;
            try {
                run = json.readValue(store.readText(runFile), Map.class);
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException(runFile + " is unreadable: " + e.getMessage(), e);
            }
            if (!weightsSha256.equals(run.get("weights_sha256")) || !Integer.valueOf(shards).equals(run.get("shards"))) {
                throw new IllegalArgumentException("run " + runFile.getParent().getName() + " was started with model weights "
                        + run.get("weights_sha256") + " and " + run.get("shards") + " shards; this call has " + weightsSha256
                        + " and " + shards + ". Use a new --run-id.");
            }
            return ((Number) run.get("generated_at_micros")).longValue();
        }
        Instant now = Instant.now();
        long micros = now.getEpochSecond() * 1_000_000 + now.getNano() / 1000;
        Map<String, Object> run = new LinkedHashMap<>();
        run.put("generated_at_micros", micros);
        run.put("weights_sha256", weightsSha256);
        run.put("shards", shards);
        try {
            store.writeText(runFile, json.writeValueAsString(run));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return micros;
    }

    /** Decoding settings from the {@code generate} section, with K given (evaluate reuses them). */
    static ShardGenerator.Settings settings(Config g, int k) {
        return new ShardGenerator.Settings(k, g.getInt("max-new-tokens"), g.getDouble("first-token-floor"),
                g.getInt("batch-rows"), g.getInt("max-answer-tokens"),
                TraceScorer.SpanMethod.valueOf(g.getString("span-method").toUpperCase()), ComputeSettings.decoding());
    }

    /** Stable shard of a prompt id (CRC32, independent of JVM and locale). */
    static int shardOf(String problemId, int shards) {
        CRC32 crc = new CRC32();
        crc.update(problemId.getBytes(StandardCharsets.UTF_8));
        return (int) (crc.getValue() % shards);
    }

    /** Executor side: model from the per-JVM cache (by path), one shard in, trace rows out. */
    static final class DecodeShard implements FlatMapFunction<ShardWork, Row> {
        private final String modelPath;
        private final ShardGenerator.Settings settings;
        private final TracesTable.RunInfo run;
        private final LongAccumulator tokens;

        DecodeShard(String modelPath, ShardGenerator.Settings settings, TracesTable.RunInfo run, LongAccumulator tokens) {
            this.modelPath = modelPath;
            this.settings = settings;
            this.run = run;
            this.tokens = tokens;
        }

        @Override
        public Iterator<Row> call(ShardWork work) {
            List<Row> out = new ArrayList<>();
            for (TraceRecord t : ShardGenerator.run(ModelCache.get(modelPath), work.problems(), settings)) {
                out.add(TracesTable.toRow(run, work.shard(), t));
                tokens.add(t.traceTokens().length);
            }
            return out.iterator();
        }
    }

    /** Logs prompts done / total, prompts/s and ETA as shards finish. */
    static final class Progress extends SparkListener {
        private final int totalPrompts;
        private final int shards;
        private final int promptsPerShardApprox;
        final long start;
        private final LongAccumulator tokens;
        private final AtomicInteger done = new AtomicInteger();

        Progress(List<ShardWork> pending, long start, LongAccumulator tokens) {
            this.tokens = tokens;
            this.totalPrompts = pending.stream().mapToInt(w -> w.problems().size()).sum();
            this.shards = pending.size();
            this.promptsPerShardApprox = Math.max(1, totalPrompts / Math.max(1, shards));
            this.start = start;
        }

        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
            if (!"ResultTask".equals(end.taskType()) || end.taskInfo().failed()) {
                return;
            }
            int d = done.incrementAndGet();
            if (d > shards) {
                return;
            }
            double secs = (System.nanoTime() - start) / 1e9;
            int prompts = Math.min(totalPrompts, d * promptsPerShardApprox);
            LOG.info(String.format("  shard %d/%d done: ~%d/%d prompts, %.2f prompts/s, %,.0f generated tokens/s, eta %s",
                    d, shards, prompts, totalPrompts, prompts / secs, tokens.value() / secs,
                    org.rlsf.train.PretrainStage.duration(secs / d * (shards - d))));
        }
    }
}
