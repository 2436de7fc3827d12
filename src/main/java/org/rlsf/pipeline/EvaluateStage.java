package org.rlsf.pipeline;

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
import org.rlsf.config.EvaluateConfig.Decoding;
import org.rlsf.config.RlsfConfig;
import org.rlsf.evaluate.Calibration;
import org.rlsf.evaluate.EvalMetrics;
import org.rlsf.evaluate.Evaluation;
import org.rlsf.evaluate.ProblemResult;
import org.rlsf.generate.ShardGenerator;
import org.rlsf.generate.Shards;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.EvalTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.Json;
import org.rlsf.io.RunLayout;
import org.rlsf.io.SparkSessions;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.ModelCache;
import org.rlsf.report.Durations;
import org.rlsf.score.TraceRecord;
import org.rlsf.tasks.Problem;
import org.rlsf.train.RewardScorer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The evaluate stage on Spark: decodes a labelled held-out corpus (greedy, or CoT-decoding with the most confident
 * path), grades every problem on the executors (the only stage that reads gold answers), writes the per-problem
 * table, then aggregates the metrics from the written table with a mergeable accumulator, overall and per task.
 * <pre>
 * OUT/problems/        Parquet, one row per problem (EvalTable)
 * OUT/summary.json     accuracy, ECE (10 bins ×100; 15 bins), Brier, AUROC, branch statistics, cost
 * OUT/summary.csv      the same, one line per task and "all"
 * OUT/reliability.csv  reliability-diagram bins per task (10 bins (l,u])
 * OUT/config.conf      the resolved configuration
 * </pre>
 */
public final class EvaluateStage {
    private static final Logger LOG = LoggerFactory.getLogger(EvaluateStage.class);

    private EvaluateStage() {
    }

    /**
     * One evaluation to write.
     *
     * @param out      its output directory
     * @param name     recorded in its rows and summary
     * @param decoding how it decodes; a view (below) is always greedy
     */
    public record Target(Path out, String name, Decoding decoding) {
    }

    /** Evaluates {@code model} on {@code corpus} into {@code target}; returns the metrics per task and "all". */
    public static Map<String, EvalMetrics> run(RlsfConfig config, FileStore store, Path model, Path corpus, Target target) {
        return run(config, store, model, corpus, target, null);
    }

    /**
     * As {@link #run(RlsfConfig, FileStore, Path, Path, Target)}; with {@code greedyView} (CoT-decoding only) the same
     * decoding pass also writes the greedy evaluation, graded on each problem's branch 0: the top-1 first token
     * continued greedily is exactly greedy decoding. Returns the metrics of {@code target}.
     */
    public static Map<String, EvalMetrics> run(RlsfConfig config, FileStore store, Path model, Path corpus, Target target,
                                               Target greedyView) {
        return run(config, store, model, corpus, target, greedyView, null);
    }

    /**
     * As {@link #run(RlsfConfig, FileStore, Path, Path, Target, Target)}; with {@code rewardModel} (a reward-model
     * checkpoint on the same tokenizer) every decoded branch is also scored by it, so the summary gains the AUROC of
     * the reward model's score against branch correctness and the accuracy of choosing each problem's branch by it.
     * Gold answers are read only here, to judge the reward model; it never sees them.
     */
    public static Map<String, EvalMetrics> run(RlsfConfig config, FileStore store, Path model, Path corpus, Target target,
                                               Target greedyView, Path rewardModel) {
        if (greedyView != null && target.decoding() != Decoding.COT_DECODING) {
            throw new IllegalArgumentException("the greedy view needs CoT-decoding (it reads the greedy path off branch 0)");
        }
        if (greedyView != null && greedyView.name().equals(target.name())) {
            throw new IllegalArgumentException("the greedy view needs a name other than '" + target.name() + "'");
        }
        int k = config.evaluate().branches(target.decoding());
        ShardGenerator.Settings settings = ShardGenerator.Settings.of(config.generate(), k, config.compute());
        SparkSession spark = SparkSessions.getOrCreate(config.spark());
        JavaSparkContext jsc = SparkSessions.javaContext(spark);
        long t0 = System.nanoTime();

        List<Problem> problems = CorpusTable.read(spark, store, corpus);
        String modelPath = store.qualify(model);
        Checkpoint ckpt = ModelCache.get(modelPath);
        ShardGenerator.checkPromptTemplate(ckpt.tokenizer(), settings);
        String rewardPath = null;
        if (rewardModel != null) {
            rewardPath = store.qualify(rewardModel);
            Checkpoint rm = ModelCache.get(rewardPath);
            if (rm.tokenizer().vocabSize() != ckpt.tokenizer().vocabSize()) {
                throw new IllegalArgumentException("reward model " + rewardPath + " has a vocabulary of "
                        + rm.tokenizer().vocabSize() + " tokens; the evaluated model " + modelPath + " has "
                        + ckpt.tokenizer().vocabSize() + ": it cannot score this model's outputs");
            }
        }
        EvalTable.EvalInfo info = new EvalTable.EvalInfo(target.name(), target.decoding().configName(), modelPath,
                ckpt.weightsSha256(), config.hash());
        EvalTable.EvalInfo viewInfo = greedyView == null ? null : new EvalTable.EvalInfo(greedyView.name(),
                Decoding.GREEDY.configName(), modelPath, ckpt.weightsSha256(), config.hash());
        List<Shards.Shard> work = Shards.split(problems, Math.max(1, Math.min(config.evaluate().shards(), problems.size())));
        LOG.info("evaluate {} on {} problems ({} shards), decoding {} (K={}), span {}{}", modelPath, problems.size(),
                work.size(), info.decoding(), k, settings.spanMethod().configName(),
                rewardPath == null ? "" : ", every branch scored by reward model " + rewardPath);

        // 1) decode and grade on the executors, write one row per problem (per evaluation)
        store.writeText(new Path(target.out(), "config.conf"), config.render());
        jsc.setJobGroup("rlsf-evaluate", "evaluate " + info.name());
        JavaRDD<Row> rows = jsc.parallelize(work, work.size()).flatMap(new GradeShard(modelPath, settings, info, viewInfo, rewardPath));
        spark.conf().set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS");
        Dataset<Row> graded = spark.createDataFrame(rows, EvalTable.SCHEMA);
        if (viewInfo != null) {   // one decoding pass, two tables
            graded = graded.persist(StorageLevel.MEMORY_AND_DISK());
            store.writeText(new Path(greedyView.out(), "config.conf"), config.render());
        }
        Map<String, EvalMetrics> result = writeAndSummarise(spark, store, graded, target, info, k, settings, rewardPath, t0);
        if (viewInfo != null) {
            writeAndSummarise(spark, store, graded, greedyView, viewInfo, 1, settings, rewardPath, t0);
            graded.unpersist();
        }
        return result;
    }

    /** Writes one evaluation's rows, then its metrics from the written table: an accumulator per task, merged for "all". */
    private static Map<String, EvalMetrics> writeAndSummarise(SparkSession spark, FileStore store, Dataset<Row> graded,
                                                              Target target, EvalTable.EvalInfo info, int k,
                                                              ShardGenerator.Settings settings, String rewardPath,
                                                              long t0) {
        Path table = new Path(target.out(), "problems");
        graded.filter(functions.col("eval_name").equalTo(info.name())).write().mode(SaveMode.Overwrite)
                .option("compression", "zstd").parquet(table.toString());
        Map<String, EvalMetrics> byTask = new TreeMap<>(spark.read().parquet(table.toString()).javaRDD()
                .mapToPair(r -> new Tuple2<>(r.getString(r.fieldIndex("task")), EvalTable.fromRow(r)))
                .aggregateByKey(new EvalMetrics(), EvalMetrics::add, EvalMetrics::merge)
                .collectAsMap());
        EvalMetrics all = new EvalMetrics();
        byTask.values().forEach(all::merge);
        writeSummary(store, target.out(), info, k, settings, rewardPath, byTask, all, (System.nanoTime() - t0) / 1e9);

        boolean cot = info.decoding().equals(Decoding.COT_DECODING.configName());
        byTask.forEach((task, m) -> LOG.info(line(task, m, cot)));
        if (byTask.size() > 1) {
            LOG.info(line("all", all, cot));
        }
        LOG.info("wrote {} and summary.json in {}", table, Durations.format((System.nanoTime() - t0) / 1e9));
        Map<String, EvalMetrics> result = new LinkedHashMap<>(byTask);
        result.put("all", all);
        return result;
    }

    static String line(String task, EvalMetrics m, boolean cotDecoding) {
        String s = String.format("%-6s n=%d  accuracy %.1f%%  ECE10 %.2f  ECE15 %.3f  Brier %.3f  AUROC %.3f  CoT-style %.0f%%  tokens/problem %.1f",
                task, m.problems(), 100 * m.accuracy(), m.ece10x100(), m.ece15(), m.brier(), m.auroc(),
                100 * m.cotStyleShare(), m.tokensPerProblem());
        if (!Double.isNaN(m.rewardChoiceAccuracy())) {
            s += String.format("  | reward model: branch AUROC %.3f, best-of-K by reward %.1f%%", m.rewardAuroc(),
                    100 * m.rewardChoiceAccuracy());
        }
        if (cotDecoding) {
            s += String.format("  | branch AUROC %.3f  any branch right %.1f%%  own CoT path %.1f%%  branches >= 0.9 %.1f%%",
                    m.branchAuroc(), 100 * m.anyBranchCorrectShare(), 100 * m.cotPathAccuracy(), 100 * m.highConfidenceBranchShare());
        }
        return s;
    }

    private static void writeSummary(FileStore store, Path outDir, EvalTable.EvalInfo info, int k,
                                     ShardGenerator.Settings settings, String rewardPath, Map<String, EvalMetrics> byTask,
                                     EvalMetrics all, double seconds) {
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("eval_name", info.name());
        summary.put("decoding", info.decoding());
        summary.put("k", k);
        summary.put("span_method", settings.spanMethod().configName());
        summary.put("model_id", info.modelId());
        summary.put("weights_sha256", info.weightsSha256());
        summary.put("config_hash", info.configHash());
        summary.put(RunLayout.EVAL_SUMMARY_REWARD_MODEL, rewardPath);
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
        store.writeText(RunLayout.evalSummary(outDir), Json.write(summary));
        store.writeText(new Path(outDir, "summary.csv"), csv.toString());
        store.writeText(new Path(outDir, "reliability.csv"), rel.toString());
    }

    /** Executor side: model from the per-JVM cache, one shard of labelled problems in, graded rows out. */
    static final class GradeShard implements FlatMapFunction<Shards.Shard, Row> {
        private final String modelPath;
        private final ShardGenerator.Settings settings;
        private final EvalTable.EvalInfo info;
        private final EvalTable.EvalInfo greedyView;   // null: no greedy view
        private final String rewardModel;              // null: no reward scores

        GradeShard(String modelPath, ShardGenerator.Settings settings, EvalTable.EvalInfo info, EvalTable.EvalInfo greedyView,
                   String rewardModel) {
            this.modelPath = modelPath;
            this.settings = settings;
            this.info = info;
            this.greedyView = greedyView;
            this.rewardModel = rewardModel;
        }

        @Override
        public Iterator<Row> call(Shards.Shard work) {
            Map<String, List<TraceRecord>> byPrompt = new LinkedHashMap<>();
            for (TraceRecord t : ShardGenerator.run(ModelCache.get(modelPath, info.weightsSha256()), work.problems(), settings)) {
                byPrompt.computeIfAbsent(t.promptId(), x -> new ArrayList<>()).add(t);
            }
            Map<String, Double> rewards = rewardModel == null ? Map.of() : scoreBranches(byPrompt);
            List<Row> out = new ArrayList<>();
            for (Problem p : work.problems()) {
                List<TraceRecord> traces = byPrompt.getOrDefault(p.problemId(), List.of());
                out.add(EvalTable.toRow(info, withRewards(Evaluation.grade(p, traces), traces, rewards)));
                if (greedyView != null) {
                    List<TraceRecord> greedy = traces.stream().filter(t -> t.branch() == 0).toList();
                    out.add(EvalTable.toRow(greedyView, withRewards(Evaluation.grade(p, greedy), greedy, rewards)));
                }
            }
            return out.iterator();
        }

        /** The reward model's score of every decoded branch, keyed by prompt id and branch. */
        private Map<String, Double> scoreBranches(Map<String, List<TraceRecord>> byPrompt) {
            List<TraceRecord> all = byPrompt.values().stream().flatMap(List::stream).filter(t -> t.error() == null).toList();
            double[] scores = RewardScorer.score(ModelCache.get(rewardModel), all.stream().map(TraceRecord::promptTokens).toList(),
                    all.stream().map(TraceRecord::traceTokens).toList());
            Map<String, Double> out = new LinkedHashMap<>();
            for (int i = 0; i < all.size(); i++) {
                out.put(key(all.get(i)), scores[i]);
            }
            return out;
        }

        private static ProblemResult withRewards(ProblemResult r, List<TraceRecord> traces, Map<String, Double> rewards) {
            List<TraceRecord> branches = Evaluation.branches(traces);
            if (rewards.isEmpty() || branches.isEmpty()) {
                return r;
            }
            return r.withBranchRewards(branches.stream().mapToDouble(t -> rewards.get(key(t))).toArray());
        }

        private static String key(TraceRecord t) {
            return t.promptId() + "\u0000" + t.branch();
        }
    }
}
