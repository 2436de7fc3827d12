package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.rlsf.config.RlsfConfig;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.report.RunReport;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.SparkSessions;
import org.rlsf.model.Checkpoint;
import org.rlsf.tasks.Problem;
import org.rlsf.tasks.TaskFamily;
import org.rlsf.train.DpoStage;
import org.rlsf.train.PretrainStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The main job: RLSF end to end under one run directory,
 * <pre>
 *   &lt;runs&gt;/&lt;run_id&gt;/config.conf      the resolved configuration (run.overrides applied)
 *                   corpus/prompts   unlabelled self-feedback prompts (train split, every task)
 *                   corpus/heldout   labelled evaluation problems (held-out split, every task)
 *                   checkpoints/base the frozen base;  checkpoints/rlsf  the DPO policy
 *                   traces/  pairs/  eval/{base-greedy,base-cot-decoding,rlsf-greedy}/  report/
 * </pre>
 * corpus → generate → pairs → train → evaluate (base greedy, base CoT-decoding, tuned greedy) → report.
 * Every step is skipped when its output is complete, so rerunning a run id resumes it. Gold answers
 * are read only by evaluate.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "The main job: corpus -> generate -> pairs -> train (DPO) -> evaluate -> report, under one run directory.")
final class RunCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

    @Mixin
    ConfigOptions options;

    @Option(names = "--run-id", paramLabel = "ID", description = "Run id (default: a timestamp); an existing id resumes.")
    String runId;

    @Option(names = "--out", paramLabel = "DIR", description = "Runs directory (default: rlsf.run.runs-dir).")
    String out;

    @Override
    public Integer call() {
        long t0 = System.nanoTime();
        RlsfConfig config = options.load().withRunOverrides();
        FileStore store = FileStore.local();
        String id = runId != null ? runId : LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path runDir = new Path(out != null ? out : config.raw().getString("run.runs-dir"), id);
        store.mkdirs(runDir);
        Console.logTo(Outputs.logFileFor(store, runDir, "run"));
        Path configFile = new Path(runDir, "config.conf");
        if (store.exists(configFile) && !store.readText(configFile).equals(config.render())) {
            throw new IllegalArgumentException("run " + id + " exists with another configuration (" + configFile
                    + "); use a new --run-id, or the same configuration to resume it");
        }
        store.writeText(configFile, config.render());
        SparkSession spark = SparkSessions.getOrCreate(config.raw().getConfig("spark"));
        List<String> tasks = config.raw().getStringList("run.tasks");
        long seed = config.raw().getLong("run.seed");
        LOG.info("run {} in {} (Spark master {})", id, runDir, spark.sparkContext().master());
        StageTimings timings = new StageTimings(store, runDir);

        // 1) corpora: unlabelled prompts for self-feedback, labelled held-out problems for evaluation
        LOG.info("[1/7] corpus: {}", tasks);
        timings.begin("corpus");
        Path prompts = new Path(new Path(runDir, "corpus"), "prompts");
        Path heldout = new Path(new Path(runDir, "corpus"), "heldout");
        writeCorpus(spark, store, prompts, tasks, config.raw().getInt("run.prompts"), seed, TaskCorpus.TRAIN);
        writeCorpus(spark, store, heldout, tasks, config.raw().getInt("run.eval-problems"),
                config.raw().getLong("run.eval-seed"), TaskCorpus.HELDOUT);

        // 2) the frozen base
        Path base = new Path(new Path(runDir, "checkpoints"), "base");
        String baseSpec = config.raw().getString("run.base-model");
        LOG.info("[2/7] base model: {}", baseSpec);
        timings.begin("base");
        if (baseSpec.startsWith(Checkpoint.BUILTIN_PREFIX)) {
            Checkpoint.materializeBuiltin(store, baseSpec, base);
        } else if (baseSpec.equals("pretrain")) {
            pretrainBase(spark, store, config, runDir, tasks, seed, base);
        } else {
            base = FileStore.path(baseSpec);
        }
        Checkpoint baseCkpt = Checkpoint.load(store, base);
        LOG.info("  base {} (weights sha256 {})", base, baseCkpt.weightsSha256().substring(0, 12));

        // 3) self-feedback traces (resumes by shard)
        timings.begin("generate");
        LOG.info("[3/7] generate: CoT-decoding K={} (first-token floor {}), span {}", config.raw().getInt("generate.k"),
                config.raw().getDouble("generate.first-token-floor"), config.raw().getString("generate.span-method"));
        Path traces = new Path(runDir, "traces");
        GenerateCommand.generate(config, store, base.toString(), prompts.toString(), traces, id);

        // 4) preference pairs
        Path pairs = new Path(runDir, "pairs");
        timings.begin("pairs");
        if (store.exists(new Path(new Path(pairs, "run_id=" + id), "_MANIFEST.json"))) {
            LOG.info("[4/7] pairs: done ({})", pairs);
        } else {
            LOG.info("[4/7] pairs: {} at threshold {}", config.raw().getString("pairs.policy"), config.raw().getDouble("pairs.threshold"));
            PairsCommand.pairs(config, store, traces.toString(), pairs, id);
        }

        // 5) DPO
        Path tuned = new Path(new Path(runDir, "checkpoints"), "rlsf");
        timings.begin("train");
        if (store.exists(new Path(new Path(tuned, "checkpoint"), "checkpoint.json"))) {
            LOG.info("[5/7] train: done ({})", tuned);
        } else {
            boolean resume = store.exists(new Path(tuned, "epochs"));
            LOG.info("[5/7] train: DPO beta {} lr {} {} epochs{}", config.raw().getDouble("train.beta"),
                    config.raw().getDouble("train.learning-rate"), config.raw().getInt("train.epochs"), resume ? " (resuming)" : "");
            DpoStage.run(spark, store, config, pairs, id, base, tuned, resume ? tuned : null);
        }

        // 6) evaluation: base CoT-decoding (the configuration that built the pairs) with base greedy read off its
        // branch 0 (the greedy path) in the same pass, then tuned greedy
        Path evalDir = new Path(runDir, "eval");
        Path baseGreedy = new Path(evalDir, "base-greedy"), baseCot = new Path(evalDir, "base-cot-decoding");
        LOG.info("[6/7] evaluate base-cot-decoding + base-greedy (its branch 0): cot-decoding on {}", heldout);
        timings.begin("evaluate base (cot-decoding + greedy)");
        if (store.exists(new Path(baseGreedy, "summary.json")) && store.exists(new Path(baseCot, "summary.json"))) {
            LOG.info("  done ({}, {})", baseCot, baseGreedy);
        } else {
            EvaluateCommand.evaluate(config, store, base.toString(), heldout.toString(), baseCot, "cot-decoding",
                    "base-cot-decoding", baseGreedy, "base-greedy");
        }
        Path tunedEval = new Path(evalDir, "rlsf-greedy");
        LOG.info("[6/7] evaluate rlsf-greedy: greedy on {}", heldout);
        timings.begin("evaluate rlsf-greedy");
        if (store.exists(new Path(tunedEval, "summary.json"))) {
            LOG.info("  done ({})", tunedEval);
        } else {
            EvaluateCommand.evaluate(config, store, new Path(tuned, "checkpoint").toString(), heldout.toString(), tunedEval,
                    "greedy", "rlsf-greedy");
        }

        // 7) report
        LOG.info("[7/7] report");
        timings.begin("report");
        RunReport.Result report = RunReport.write(store, runDir);
        report.table().forEach(LOG::info);
        report.checks().forEach(c -> LOG.info("  " + c));
        timings.end();
        timings.table().forEach(LOG::info);
        LOG.info(String.format("run %s finished in %s: report %s", id,
                PretrainStage.duration((System.nanoTime() - t0) / 1e9), new Path(report.dir(), "report.md")));
        return 0;
    }

    private static void writeCorpus(SparkSession spark, FileStore store, Path dir, List<String> tasks, int perTask, long seed,
                                    String split) {
        if (CorpusTable.isCorpusTable(store, dir)) {
            LOG.info("  reusing {}", dir);
            return;
        }
        List<Problem> problems = TaskCorpus.generate(tasks, perTask, seed, split);
        CorpusTable.write(spark, store, dir, problems, split, "generated:" + String.join("+", tasks),
                Map.of("seed", seed, "n_per_task", perTask));
        LOG.info("  wrote {} {} problems to {}", problems.size(), split, dir);
    }

    private static void pretrainBase(SparkSession spark, FileStore store, RlsfConfig config, Path runDir, List<String> tasks,
                                     long seed, Path base) {
        if (store.exists(new Path(base, "checkpoint.json"))) {
            return;
        }
        List<String> corpora = new ArrayList<>();
        for (String task : tasks) {
            Path train = new Path(new Path(runDir, "corpus"), task + "-train");
            if (!CorpusTable.isCorpusTable(store, train)) {
                int n = config.raw().getInt("run.train-problems");
                CorpusTable.write(spark, store, train, TaskCorpus.generate(TaskFamily.of(task), n, seed, TaskCorpus.TRAIN),
                        TaskCorpus.TRAIN, "generated:" + task, Map.of("seed", seed, "n", n));
            }
            corpora.add(train.toString());
        }
        Path pretrainDir = new Path(new Path(runDir, "checkpoints"), "base-pretrain");
        PretrainStage.Result r = PretrainStage.run(() -> spark, store, config, corpora, pretrainDir);
        Checkpoint c = Checkpoint.load(store, r.checkpoint());
        Checkpoint.save(store, base, c.graph(), c.tokenizer(), c.model(), c.lineage());
    }
}
