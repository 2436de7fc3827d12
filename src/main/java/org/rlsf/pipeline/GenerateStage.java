package org.rlsf.pipeline;

import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.util.LongAccumulator;
import org.rlsf.config.CodeVersion;
import org.rlsf.config.RlsfConfig;
import org.rlsf.generate.ShardGenerator;
import org.rlsf.generate.Shards;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.Json;
import org.rlsf.io.Manifests;
import org.rlsf.io.RunLayout;
import org.rlsf.io.SparkSessions;
import org.rlsf.io.TracesTable;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.ModelCache;
import org.rlsf.report.Durations;
import org.rlsf.score.TraceRecord;
import org.rlsf.tasks.Problem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The generate stage on Spark: the prompts are cut into shards; each executor loads the frozen model once (from its
 * path), CoT-decodes and scores its shard, and the traces table is written partitioned by run_id and shard, in waves
 * of twice as many shards as run at once, each wave committed (data, then manifests) before the next: a kill loses at most
 * the wave in flight. Shards already committed under the same run id are skipped, so rerunning a run id resumes it.
 */
public final class GenerateStage {
    private static final Logger LOG = LoggerFactory.getLogger(GenerateStage.class);

    private GenerateStage() {
    }

    /** Traces of every prompt of {@code corpus} under {@code model}, written to {@code table} as run {@code runId}. */
    public static void run(RlsfConfig config, FileStore store, Path model, Path corpus, Path table, String runId) {
        SparkSession spark = SparkSessions.getOrCreate(config.spark());
        JavaSparkContext jsc = SparkSessions.javaContext(spark);
        ShardGenerator.Settings settings = ShardGenerator.Settings.of(config.generate(), config.generate().k(), config.compute());
        int shards = config.generate().shards();

        // 1) prompts (no gold answers), the model's identity, the run's fixed columns
        List<Problem> problems = CorpusTable.readPrompts(spark, store, corpus);
        String modelPath = store.qualify(model);
        Checkpoint ckpt = ModelCache.get(modelPath);
        ShardGenerator.checkPromptTemplate(ckpt.tokenizer(), settings);
        long generatedAt = resumeOrStart(store, RunLayout.generateRun(table, runId), ckpt.weightsSha256(), shards);
        TracesTable.RunInfo run = new TracesTable.RunInfo(runId, modelPath, ckpt.weightsSha256(), config.generate().seed(),
                config.hash(), generatedAt);
        store.writeText(new Path(RunLayout.runPartition(table, runId), "_config.conf"), config.render());

        // 2) shards, skipping committed ones
        List<Shards.Shard> all = Shards.split(problems, shards);
        List<Shards.Shard> pending = all.stream().filter(s -> !TracesTable.isCommitted(store, table, runId, s.shard())).toList();
        int pendingPrompts = pending.stream().mapToInt(w -> w.problems().size()).sum();
        LOG.info("generate run {}: {} prompts in {} shards; {} shards ({} prompts) to do, K={}, max_new_tokens={}, span={}",
                runId, problems.size(), all.size(), pending.size(), pendingPrompts, settings.k(), settings.maxNewTokens(),
                settings.spanMethod().configName());
        if (pending.isEmpty()) {
            LOG.info("nothing to do: every shard of run {} is committed", runId);
            return;
        }

        // 3) decode on the executors in waves of twice as many shards as the cluster runs at once (room to balance
        //    uneven shards); each wave's partitions and manifests are committed before the next starts, so a kill
        //    loses at most the wave in flight. A wave's commit costs ~1.3 s here (write job, read-back counts,
        //    manifests): 4 waves of 2 made the main job's generate 14 s -> 21 s, 2 waves of 4 cost less
        LongAccumulator tokens = jsc.sc().longAccumulator("rlsf.generated_tokens");   // progress display only
        ShardProgress progress = new ShardProgress(pendingPrompts, pending.size(), tokens);
        spark.sparkContext().addSparkListener(progress);
        spark.conf().set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS");   // readable beyond Spark
        int wave = Math.max(1, 2 * jsc.defaultParallelism());
        long traces = 0, errors = 0, zero = 0;
        try {
            for (int from = 0; from < pending.size(); from += wave) {
                List<Shards.Shard> part = pending.subList(from, Math.min(pending.size(), from + wave));
                jsc.setJobGroup("rlsf-generate", "generate " + runId + " shards " + part.get(0).shard() + ".."
                        + part.get(part.size() - 1).shard());
                JavaRDD<Row> rows = jsc.parallelize(new ArrayList<>(part), part.size())
                        .flatMap(new DecodeShard(modelPath, settings, run, tokens));
                spark.createDataFrame(rows, TracesTable.SCHEMA).write()
                        .mode(SaveMode.Overwrite)
                        .option("partitionOverwriteMode", "dynamic")
                        .option("compression", "zstd")
                        .partitionBy("run_id", "shard")
                        .parquet(table.toString());
                long[] c = commitManifests(spark, store, table, runId, part);
                traces += c[0];
                errors += c[1];
                zero += c[2];
            }
        } finally {
            spark.sparkContext().removeSparkListener(progress);
        }
        double secs = progress.seconds();
        LOG.info(String.format("wrote %d traces (%d error rows; %d with no answer span) for %d prompts in %s "
                        + "(%.2f prompts/s, %,.0f generated tokens/s) to %s", traces, errors, zero, pendingPrompts,
                Durations.format(secs), pendingPrompts / secs, tokens.value() / secs, table));
    }

    /**
     * A wave's manifests, after its partitions are committed, with counts from the written data (one aggregation over
     * the wave's shards). Returns the wave's traces, error rows and rows without an answer span.
     */
    private static long[] commitManifests(SparkSession spark, FileStore store, Path table, String runId,
                                          List<Shards.Shard> part) {
        List<String> dirs = part.stream().map(w -> RunLayout.shardPartition(table, runId, w.shard()).toString()).toList();
        Map<Integer, long[]> written = new HashMap<>();
        for (Row r : spark.read().option("basePath", table.toString()).parquet(dirs.toArray(new String[0]))
                .groupBy("shard")
                .agg(functions.count("*").as("rows"), functions.expr("count_if(error IS NOT NULL)").as("errors"),
                        functions.expr("count_if(error IS NULL AND span_end = span_start)").as("zero"))
                .collectAsList()) {
            written.put(((Number) r.get(r.fieldIndex("shard"))).intValue(), new long[]{r.getLong(r.fieldIndex("rows")),
                    r.getLong(r.fieldIndex("errors")), r.getLong(r.fieldIndex("zero"))});
        }
        long[] total = new long[3];
        for (Shards.Shard w : part) {
            long[] c = written.getOrDefault(w.shard(), new long[3]);
            TracesTable.writeManifest(store, table, Manifests.TracesShard.of(TracesTable.SCHEMA_VERSION, runId, w.shard(),
                    w.problems().size(), c[0], c[1], c[2], CodeVersion.get()));
            for (int i = 0; i < 3; i++) {
                total[i] += c[i];
            }
        }
        return total;
    }

    /**
     * The run's fixed facts, recorded when it starts: a rerun of the same id must use the same model and shard count
     * (else its shards would mix), and reuses the start time so rows stay identical. Returns the start time (µs).
     */
    static long resumeOrStart(FileStore store, Path runFile, String weightsSha256, int shards) {
        if (store.exists(runFile)) {
            Manifests.GenerateRun run = Json.read(store.readText(runFile), Manifests.GenerateRun.class, runFile);
            if (!weightsSha256.equals(run.weightsSha256()) || shards != run.shards()) {
                throw new IllegalArgumentException("run " + RunLayout.runIdOf(runFile.getParent()) + " was started with model "
                        + "weights " + run.weightsSha256() + " and " + run.shards() + " shards; this call has " + weightsSha256
                        + " and " + shards + ". Use a new --run-id.");
            }
            return run.generatedAtMicros();
        }
        Instant now = Instant.now();
        long micros = now.getEpochSecond() * 1_000_000 + now.getNano() / 1000;
        Manifests.write(store, runFile, new Manifests.GenerateRun(micros, weightsSha256, shards));
        return micros;
    }

    /** Executor side: model from the per-JVM cache (by path), one shard in, trace rows out. */
    static final class DecodeShard implements FlatMapFunction<Shards.Shard, Row> {
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
        public Iterator<Row> call(Shards.Shard work) {
            List<Row> out = new ArrayList<>();
            for (TraceRecord t : ShardGenerator.run(ModelCache.get(modelPath, run.weightsSha256()), work.problems(), settings)) {
                out.add(TracesTable.toRow(run, work.shard(), t));
                tokens.add(t.traceTokens().length);
            }
            return out.iterator();
        }
    }
}
