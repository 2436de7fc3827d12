package org.rlsf.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.typesafe.config.Config;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.storage.StorageLevel;
import org.rlsf.config.CodeVersion;
import org.rlsf.config.RlsfConfig;
import org.rlsf.evaluate.Calibration;
import org.rlsf.evaluate.EvalMetrics;
import org.rlsf.evaluate.Evaluation;
import org.rlsf.generate.ShardGenerator;
import org.rlsf.generate.TraceRecord;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.EvalTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.SparkSessions;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.ModelCache;
import org.rlsf.tasks.Problem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import scala.Tuple2;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * {@code rlsf evaluate}: decodes a labelled held-out corpus on Spark (greedy, or CoT-decoding with
 * the most confident path), grades every problem on the executors (the only stage that reads gold
 * answers), writes the per-problem table, then aggregates the metrics from the written table with a
 * mergeable accumulator: overall and per task.
 * <pre>
 * OUT/problems/        Parquet, one row per problem (EvalTable)
 * OUT/summary.json     accuracy, ECE (10 bins ×100; 15 bins), Brier, AUROC, branch statistics, cost
 * OUT/summary.csv      the same, one line per task and "all"
 * OUT/reliability.csv  reliability-diagram bins per task (10 bins (l,u])
 * OUT/config.conf      the resolved configuration
 * </pre>
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = "Accuracy and calibration of a model on a labelled corpus (greedy or CoT-decoding), computed on Spark.")
final class EvaluateCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(EvaluateCommand.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Mixin
    ConfigOptions options;

    @Option(names = "--model", required = true, paramLabel = "CKPT", description = "The model to evaluate (checkpoint directory).")
    String model;

    @Option(names = "--corpus", required = true, paramLabel = "DIR", description = "A labelled corpus table (held-out split).")
    String corpus;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (problems/, summary.json, ...).")
    String out;

    @Option(names = "--decoding", paramLabel = "MODE",
            description = "greedy | cot-decoding (K = evaluate.k branches, most confident path); default evaluate.decoding.")
    String decoding;

    @Option(names = "--name", paramLabel = "NAME", description = "Name recorded in the rows (default: the decoding).")
    String name;

    @Option(names = "--greedy-out", paramLabel = "DIR",
            description = "With cot-decoding: also write the greedy evaluation to DIR, read off each problem's branch 0 "
                    + "(CoT-decoding's top-1 branch is the greedy path), so one decoding pass serves both.")
    String greedyOut;

    @Override
    public Integer call() {
        RlsfConfig config = options.load();
        FileStore store = FileStore.local();
        Path outDir = FileStore.path(out);
        Console.logTo(Outputs.logFileFor(store, outDir, "evaluate"));
        evaluate(config, store, model, corpus, outDir, decoding, name,
                greedyOut == null ? null : FileStore.path(greedyOut), null);
        return 0;
    }

    /** The stage; returns the metrics per task (and "all"). */
    static Map<String, EvalMetrics> evaluate(RlsfConfig config, FileStore store, String model, String corpus, Path outDir,
                                             String decoding, String name) {
        return evaluate(config, store, model, corpus, outDir, decoding, name, null, null);
    }

    /**
     * The stage; with {@code greedyOutDir} (CoT-decoding only) it also writes the greedy evaluation, graded on each
     * problem's branch 0: the top-1 first token continued greedily is exactly greedy decoding. Returns the metrics
     * of the main evaluation per task (and "all").
     */
    static Map<String, EvalMetrics> evaluate(RlsfConfig config, FileStore store, String model, String corpus, Path outDir,
                                             String decoding, String name, Path greedyOutDir, String greedyName) {
        Config e = config.raw().getConfig("evaluate");
        Config g = config.raw().getConfig("generate");
        String mode = decoding != null ? decoding : e.getString("decoding");
        if (!mode.equals("greedy") && !mode.equals("cot-decoding")) {
            throw new IllegalArgumentException("--decoding must be greedy or cot-decoding, was '" + mode + "'");
        }
        if (greedyOutDir != null && !mode.equals("cot-decoding")) {
            throw new IllegalArgumentException("--greedy-out needs --decoding cot-decoding (it reads the greedy path off branch 0)");
        }
        int k = mode.equals("greedy") ? 1 : e.getInt("k");
        ShardGenerator.Settings settings = GenerateCommand.settings(g, k);
        SparkSession spark = SparkSessions.getOrCreate(config.raw().getConfig("spark"));
        JavaSparkContext jsc = SparkSessions.javaContext(spark);
        long t0 = System.nanoTime();

        List<Problem> problems = CorpusTable.read(spark, store, FileStore.path(corpus));
        String modelPath = store.qualify(FileStore.path(model));
        Checkpoint ckpt = ModelCache.get(modelPath);
        EvalTable.EvalInfo info = new EvalTable.EvalInfo(name != null ? name : mode, mode, modelPath, ckpt.weightsSha256(),
                config.hash());
        EvalTable.EvalInfo greedyInfo = greedyOutDir == null ? null : new EvalTable.EvalInfo(
                greedyName != null ? greedyName : "greedy", "greedy", modelPath, ckpt.weightsSha256(), config.hash());
        if (greedyInfo != null && greedyInfo.name().equals(info.name())) {
            throw new IllegalArgumentException("the greedy view needs a name other than '" + info.name() + "'");
        }
        int shards = Math.max(1, Math.min(e.getInt("shards"), problems.size()));
        TreeMap<Integer, List<Problem>> byShard = new TreeMap<>();
        for (Problem p : problems) {
            byShard.computeIfAbsent(GenerateCommand.shardOf(p.problemId(), shards), x -> new ArrayList<>()).add(p);
        }
        List<GenerateCommand.ShardWork> work = new ArrayList<>();
        byShard.forEach((s, ps) -> work.add(new GenerateCommand.ShardWork(s, ps)));
        LOG.info("evaluate {} on {} problems ({} shards), decoding {} (K={}), span {}", modelPath, problems.size(),
                work.size(), mode, k, settings.spanMethod());

        // 1) decode and grade on the executors, write one row per problem (per evaluation)
        Path table = new Path(outDir, "problems");
        store.writeText(new Path(outDir, "config.conf"), config.render());
        jsc.setJobGroup("rlsf-evaluate", "evaluate " + info.name());
        JavaRDD<Row> rows = jsc.parallelize(work, work.size()).flatMap(new GradeShard(modelPath, settings, info, greedyInfo));
        spark.conf().set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS");
        Dataset<Row> graded = spark.createDataFrame(rows, EvalTable.SCHEMA);
        if (greedyInfo != null) {   // one decoding pass, two tables
            graded = graded.persist(StorageLevel.MEMORY_AND_DISK());
            store.writeText(new Path(greedyOutDir, "config.conf"), config.render());
        }
        graded.filter(functions.col("eval_name").equalTo(info.name())).write().mode(SaveMode.Overwrite)
                .option("compression", "zstd").parquet(table.toString());
        Map<String, EvalMetrics> result = summarise(spark, store, table, outDir, info, k, settings, t0);
        if (greedyInfo != null) {
            Path greedyTable = new Path(greedyOutDir, "problems");
            graded.filter(functions.col("eval_name").equalTo(greedyInfo.name())).write().mode(SaveMode.Overwrite)
                    .option("compression", "zstd").parquet(greedyTable.toString());
            summarise(spark, store, greedyTable, greedyOutDir, greedyInfo, 1, settings, t0);
            graded.unpersist();
        }
        return result;
    }

    /** Metrics from a written table: a mergeable accumulator per task, merged for "all"; summary files and log lines. */
    private static Map<String, EvalMetrics> summarise(SparkSession spark, FileStore store, Path table, Path outDir,
                                                      EvalTable.EvalInfo info, int k, ShardGenerator.Settings settings, long t0) {
        Map<String, EvalMetrics> byTask = new TreeMap<>(spark.read().parquet(table.toString()).javaRDD()
                .mapToPair(r -> new Tuple2<>(r.getString(r.fieldIndex("task")), EvalTable.fromRow(r)))
                .aggregateByKey(new EvalMetrics(), EvalMetrics::add, EvalMetrics::merge)
                .collectAsMap());
        EvalMetrics all = new EvalMetrics();
        byTask.values().forEach(all::merge);
        writeSummary(store, outDir, info, k, settings, byTask, all, (System.nanoTime() - t0) / 1e9);

        String mode = info.decoding();
        for (Map.Entry<String, EvalMetrics> t : byTask.entrySet()) {
            LOG.info(line(t.getKey(), t.getValue(), mode));
        }
        if (byTask.size() > 1) {
            LOG.info(line("all", all, mode));
        }
        LOG.info("wrote {} and summary.json in {}", table, org.rlsf.train.PretrainStage.duration((System.nanoTime() - t0) / 1e9));
        Map<String, EvalMetrics> result = new LinkedHashMap<>(byTask);
        result.put("all", all);
        return result;
    }

    static String line(String task, EvalMetrics m, String mode) {
        String s = String.format("%-6s n=%d  accuracy %.1f%%  ECE10 %.2f  ECE15 %.3f  Brier %.3f  AUROC %.3f  CoT-style %.0f%%  tokens/problem %.1f",
                task, m.problems(), 100 * m.accuracy(), m.ece10x100(), m.ece15(), m.brier(), m.auroc(),
                100 * m.cotStyleShare(), m.tokensPerProblem());
        if (mode.equals("cot-decoding")) {
            s += String.format("  | branch AUROC %.3f  any branch right %.1f%%  own CoT path %.1f%%  branches >= 0.9 %.1f%%",
                    m.branchAuroc(), 100 * m.anyBranchCorrectShare(), 100 * m.cotPathAccuracy(), 100 * m.highConfidenceBranchShare());
        }
        return s;
    }

    private static void writeSummary(FileStore store, Path outDir, EvalTable.EvalInfo info, int k,
                                     ShardGenerator.Settings settings, Map<String, EvalMetrics> byTask,
                                     EvalMetrics all, double seconds) {
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("eval_name", info.name());
        summary.put("decoding", info.decoding());
        summary.put("k", k);
        summary.put("span_method", settings.spanMethod().name().toLowerCase());
        summary.put("model_id", info.modelId());
        summary.put("weights_sha256", info.weightsSha256());
        summary.put("config_hash", info.configHash());
        summary.put("code_version", CodeVersion.get());
        summary.put("seconds", seconds);
        summary.put("all", all.summary());
        Map<String, Object> tasks = new LinkedHashMap<>();
        byTask.forEach((t, m) -> tasks.put(t, m.summary()));
        summary.put("by_task", tasks);
        StringBuilder csv = new StringBuilder();
        List<String> keys = new ArrayList<>(all.summary().keySet());
        csv.append("eval_name,task,").append(String.join(",", keys)).append('\n');
        Map<String, EvalMetrics> rowsOut = new LinkedHashMap<>(byTask);
        rowsOut.put("all", all);
        StringBuilder rel = new StringBuilder("eval_name,task,bin_lower,bin_upper,count,mean_confidence,accuracy\n");
        rowsOut.forEach((t, m) -> {
            csv.append(info.name()).append(',').append(t);
            m.summary().values().forEach(v -> csv.append(',').append(v == null ? "" : v));
            csv.append('\n');
            for (Calibration.Bin b : m.reliability()) {
                rel.append(String.format("%s,%s,%.1f,%.1f,%d,%s,%s%n", info.name(), t, b.lower(), b.upper(), b.count(),
                        Double.isNaN(b.meanConfidence()) ? "" : String.valueOf(b.meanConfidence()),
                        Double.isNaN(b.accuracy()) ? "" : String.valueOf(b.accuracy())));
            }
        });
        try {
            store.writeText(new Path(outDir, "summary.json"), JSON.writeValueAsString(summary));
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        store.writeText(new Path(outDir, "summary.csv"), csv.toString());
        store.writeText(new Path(outDir, "reliability.csv"), rel.toString());
    }

    /** Executor side: model from the per-JVM cache, one shard of labelled problems in, graded rows out. */
    static final class GradeShard implements FlatMapFunction<GenerateCommand.ShardWork, Row> {
        private final String modelPath;
        private final ShardGenerator.Settings settings;
        private final EvalTable.EvalInfo info;
        private final EvalTable.EvalInfo greedyInfo;   // null: no greedy view

        GradeShard(String modelPath, ShardGenerator.Settings settings, EvalTable.EvalInfo info, EvalTable.EvalInfo greedyInfo) {
            this.modelPath = modelPath;
            this.settings = settings;
            this.info = info;
            this.greedyInfo = greedyInfo;
        }

        @Override
        public Iterator<Row> call(GenerateCommand.ShardWork work) {
            Map<String, List<TraceRecord>> byPrompt = new LinkedHashMap<>();
            for (TraceRecord t : ShardGenerator.run(ModelCache.get(modelPath), work.problems(), settings)) {
                byPrompt.computeIfAbsent(t.promptId(), x -> new ArrayList<>()).add(t);
            }
            List<Row> out = new ArrayList<>();
            for (Problem p : work.problems()) {
                List<TraceRecord> traces = byPrompt.getOrDefault(p.problemId(), List.of());
                out.add(EvalTable.toRow(info, Evaluation.grade(p, traces)));
                if (greedyInfo != null) {
                    out.add(EvalTable.toRow(greedyInfo, Evaluation.grade(p, traces.stream().filter(t -> t.branch() == 0).toList())));
                }
            }
            return out.iterator();
        }
    }
}
