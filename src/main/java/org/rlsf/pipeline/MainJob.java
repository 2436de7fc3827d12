package org.rlsf.pipeline;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.rlsf.config.Architecture;
import org.rlsf.config.EvaluateConfig.Decoding;
import org.rlsf.config.ModelConfig;
import org.rlsf.config.RlsfConfig;
import org.rlsf.config.RunConfig;
import org.rlsf.corpus.ProblemImport;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.Json;
import org.rlsf.io.RunLayout;
import org.rlsf.io.SparkSessions;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.LoraTargets;
import org.rlsf.model.hf.HfExport;
import org.rlsf.model.hf.HfImport;
import org.rlsf.model.hf.HfModel;
import org.rlsf.model.hf.HfTokenizer;
import org.rlsf.model.hf.PeftAdapter;
import org.rlsf.report.Durations;
import org.rlsf.report.RunReport;
import org.rlsf.tasks.Problem;
import org.rlsf.tasks.TaskFamily;
import org.rlsf.train.PretrainStage;
import org.rlsf.train.TrainerState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The main job: RLSF end to end under one run directory ({@link RunLayout}),
 * corpus → generate → pairs → train → evaluate (base greedy, base CoT-decoding, tuned greedy) → report.
 * Every step is skipped when its output is complete, so rerunning a run id resumes it. Gold answers are read only by
 * evaluate.
 */
public final class MainJob {
    private static final Logger LOG = LoggerFactory.getLogger(MainJob.class);

    private MainJob() {
    }

    /**
     * Runs (or resumes) the job in {@code layout}.
     *
     * @param config the configuration with {@code run.overrides} applied
     * @throws IllegalArgumentException when the run directory exists with another configuration
     */
    public static RunReport.Result run(RlsfConfig config, FileStore store, RunLayout layout) {
        long t0 = System.nanoTime();
        RunConfig run = config.run();
        store.mkdirs(layout.dir());
        if (store.exists(layout.config()) && !store.readText(layout.config()).equals(config.render())) {
            throw new IllegalArgumentException("run " + layout.runId() + " exists with another configuration ("
                    + layout.config() + "); use a new --run-id, or the same configuration to resume it");
        }
        store.writeText(layout.config(), config.render());
        SparkSession spark = SparkSessions.getOrCreate(config.spark());
        LOG.info("run {} in {} (Spark master {})", layout.runId(), layout.dir(), spark.sparkContext().master());
        StageTimings timings = new StageTimings(store, layout);

        // 1) corpora: unlabelled prompts for self-feedback, labelled held-out problems for evaluation
        LOG.info("[1/7] corpus: {}", run.tasks());
        timings.begin("corpus");
        writeCorpus(spark, store, layout.prompts(), run.tasks(), run.promptsFile(), run.prompts(), run.seed(), TaskCorpus.TRAIN);
        writeCorpus(spark, store, layout.heldout(), run.tasks(), run.heldoutFile(), run.evalProblems(), run.evalSeed(),
                TaskCorpus.HELDOUT);
        boolean ood = run.oodProblems() > 0 && run.heldoutFile().isEmpty();
        if (ood) {
            writeCorpus(spark, store, layout.heldoutOod(), run.tasks(), "", run.oodProblems(), run.evalSeed(), TaskCorpus.OOD);
        }

        // 2) the frozen base
        LOG.info("[2/7] base model: {}", run.baseModel());
        timings.begin("base");
        Path base = layout.base();
        Checkpoint baseCkpt = null;
        if (run.baseModel().startsWith(Checkpoint.BUILTIN_PREFIX)) {
            Checkpoint.materializeBuiltin(store, run.baseModel(), base);
        } else if (HfImport.isSpec(run.baseModel())) {
            baseCkpt = Checkpoint.convert(store, run.baseModel(), base);   // once: a rerun finds it converted
        } else if (run.baseModel().equals("pretrain")) {
            pretrainBase(spark, store, config, layout);
        } else {
            base = FileStore.path(run.baseModel());
        }
        if (baseCkpt == null) {
            baseCkpt = Checkpoint.load(store, base);
        }
        LOG.info("  base {} (weights sha256 {})", base, baseCkpt.weightsSha256().substring(0, 12));
        if (config.train().lora().enabled()) {   // module names that this base lacks fail now, not after generate
            ModelConfig m = baseCkpt.model();
            LOG.info("  LoRA rank {} on {}", config.train().lora().rank(), LoraTargets.resolve(
                    m.arch().mlp() == Architecture.Mlp.SWIGLU, m.dModel(), m.nHeads(), m.kvHeads(), m.dFf(),
                    config.train().lora().targetModules()).stream().map(LoraTargets.Target::module).toList());
        }

        // 3) self-feedback traces (resumes by shard)
        timings.begin("generate");
        LOG.info("[3/7] generate: CoT-decoding K={} (first-token floor {}), span {}", config.generate().k(),
                config.generate().firstTokenFloor(), config.generate().spanMethod().configName());
        GenerateStage.run(config, store, base, layout.prompts(), layout.traces(), layout.runId());

        // 4) preference pairs
        timings.begin("pairs");
        if (RunLayout.isComplete(store, RunLayout.runPartition(layout.pairs(), layout.runId()))) {
            LOG.info("[4/7] pairs: done ({})", layout.pairs());
        } else {
            LOG.info("[4/7] pairs: {} at threshold {}", config.pairs().policy().configName(), config.pairs().threshold());
            PairsStage.run(config, store, layout.traces(), layout.pairs(), layout.runId());
        }

        // 5) DPO
        Path tuned = layout.tuned();
        if (run.method().dpo()) {
            timings.begin("train");
            if (RunLayout.isCheckpoint(store, RunLayout.policy(tuned))) {
                LOG.info("[5/7] train: done ({})", tuned);
            } else {
                boolean resume = TrainerState.hasCompleteEpoch(store, tuned);   // a kill before epoch 1 commits: start over
                LOG.info("[5/7] train: DPO beta {} lr {} {} epochs{}", config.train().beta(), config.train().learningRate(),
                        config.train().epochs(), resume ? " (resuming)" : "");
                TrainStage.run(config, store, layout.pairs(), layout.runId(), base, tuned, resume ? tuned : null);
            }
            // 5b) an imported model's policy, back in the format it came in
            if (baseCkpt.tokenizer() instanceof HfTokenizer) {
                exportPolicy(store, RunLayout.policy(tuned), layout.export(), layout.exportAdapter());
            }
        }

        // 5a) further RLSF rounds, each on fresh prompts against the previous round's policy (run.rounds)
        List<Path> policies = List.of(RunLayout.policy(tuned));
        if (run.rounds() > 1) {
            policies = Rounds.train(config, spark, store, layout, timings, RunLayout.policy(tuned));
        }

        // 5c) RLSF-PPO: a reward model on the same pairs, then PPO on the prompts (resumes by epoch and by round)
        if (run.method().ppo()) {
            Path rm = layout.rewardModel();
            timings.begin("reward model");
            if (RunLayout.isCheckpoint(store, RunLayout.policy(rm))) {
                LOG.info("[5/7] reward model: done ({})", rm);
            } else {
                boolean resume = TrainerState.hasCompleteEpoch(store, rm);
                LOG.info("[5/7] reward model: Bradley-Terry, margin {}, lr {}, {} epochs{}", config.reward().margin().configName(),
                        config.reward().learningRate(), config.reward().epochs(), resume ? " (resuming)" : "");
                RewardModelStage.run(config, store, layout.pairs(), layout.runId(), base, rm, resume ? rm : null);
            }
            timings.begin("ppo");
            if (RunLayout.isCheckpoint(store, RunLayout.policy(layout.ppo()))) {
                LOG.info("[5/7] ppo: done ({})", layout.ppo());
            } else {
                LOG.info("[5/7] ppo: {} rounds x {} prompts, lr {}", config.ppo().rounds(), config.ppo().promptsPerRound(),
                        config.ppo().learningRate());
                PpoStage.run(config, store, base, RunLayout.policy(rm), layout.prompts(), layout.ppo());
            }
        }

        // 6) evaluation: base CoT-decoding (the configuration that built the pairs) with base greedy read off its
        //    branch 0 (the greedy path) in the same pass, then tuned greedy
        EvaluateStage.Target baseCot = new EvaluateStage.Target(layout.eval("base-cot-decoding"), "base-cot-decoding",
                Decoding.COT_DECODING);
        EvaluateStage.Target baseGreedy = new EvaluateStage.Target(layout.eval("base-greedy"), "base-greedy", Decoding.GREEDY);
        LOG.info("[6/7] evaluate base-cot-decoding + base-greedy (its branch 0): cot-decoding on {}", layout.heldout());
        timings.begin("evaluate base (cot-decoding + greedy)");
        // with PPO, the reward model also scores every base branch: how well its score ranks correct answers
        Path scorer = run.method().ppo() ? RunLayout.policy(layout.rewardModel()) : null;
        if (RunLayout.isEvaluated(store, baseGreedy.out()) && RunLayout.isEvaluated(store, baseCot.out())
                && (scorer == null || scoredByRewardModel(store, baseCot.out()))) {
            LOG.info("  done ({}, {})", baseCot.out(), baseGreedy.out());
        } else {
            EvaluateStage.run(config, store, base, layout.heldout(), baseCot, baseGreedy, scorer);
        }
        if (run.method().dpo()) {
            evaluateGreedy(config, store, layout, timings, RunLayout.policy(tuned), RunReport.RLSF_GREEDY, false);
        }
        if (run.method().ppo()) {
            evaluateGreedy(config, store, layout, timings, RunLayout.policy(layout.ppo()), RunReport.PPO_GREEDY, false);
        }

        // 6b) out of distribution (longer chains than training saw): the same evaluations on corpus/heldout-ood
        if (ood) {
            EvaluateStage.Target oodCot = new EvaluateStage.Target(layout.evalOod("base-cot-decoding"),
                    "base-cot-decoding" + RunLayout.OOD_SUFFIX, Decoding.COT_DECODING);
            EvaluateStage.Target oodGreedy = new EvaluateStage.Target(layout.evalOod("base-greedy"),
                    "base-greedy" + RunLayout.OOD_SUFFIX, Decoding.GREEDY);
            LOG.info("[6/7] evaluate out of distribution: base cot-decoding + greedy on {}", layout.heldoutOod());
            timings.begin("evaluate base, out of distribution");
            if (RunLayout.isEvaluated(store, oodGreedy.out()) && RunLayout.isEvaluated(store, oodCot.out())) {
                LOG.info("  done ({}, {})", oodCot.out(), oodGreedy.out());
            } else {
                EvaluateStage.run(config, store, base, layout.heldoutOod(), oodCot, oodGreedy, null);
            }
            if (run.method().dpo()) {
                evaluateGreedy(config, store, layout, timings, RunLayout.policy(tuned), RunReport.RLSF_GREEDY, true);
            }
            if (run.method().ppo()) {
                evaluateGreedy(config, store, layout, timings, RunLayout.policy(layout.ppo()), RunReport.PPO_GREEDY, true);
            }
        }

        if (run.rounds() > 1) {
            Rounds.evaluate(config, store, layout, timings, policies, ood);
            timings.begin("rounds: signals and the stopping rule");
            Rounds.summarize(config, spark, store, layout);
        }

        // 7) report
        LOG.info("[7/7] report");
        timings.begin("report");
        RunReport.Result report = RunReport.write(store, layout);
        report.table().forEach(LOG::info);
        report.checks().forEach(c -> LOG.info("  " + c));
        timings.end();
        timings.table().forEach(LOG::info);
        LOG.info(String.format("run %s finished in %s: report %s", layout.runId(),
                Durations.format((System.nanoTime() - t0) / 1e9), new Path(report.dir(), "report.md")));
        return report;
    }

    /** Whether an evaluation's branches were scored by a reward model (a DPO-only run's were not). */
    private static boolean scoredByRewardModel(FileStore store, Path evalDir) {
        Path summary = RunLayout.evalSummary(evalDir);
        return Json.read(store.readText(summary), com.fasterxml.jackson.databind.JsonNode.class, summary)
                .path(RunLayout.EVAL_SUMMARY_REWARD_MODEL).isTextual();
    }

    private static void evaluateGreedy(RlsfConfig config, FileStore store, RunLayout layout, StageTimings timings, Path policy,
                                       String name, boolean ood) {
        String label = ood ? name + RunLayout.OOD_SUFFIX : name;
        Path corpus = ood ? layout.heldoutOod() : layout.heldout();
        EvaluateStage.Target target = new EvaluateStage.Target(layout.eval(label), label, Decoding.GREEDY);
        LOG.info("[6/7] evaluate {}: greedy on {}", label, corpus);
        timings.begin("evaluate " + label);
        if (RunLayout.isEvaluated(store, target.out())) {
            LOG.info("  done ({})", target.out());
        } else {
            EvaluateStage.run(config, store, policy, corpus, target);
        }
    }

    /**
     * Writes the policy as a Hugging Face directory (bf16), or a LoRA-tuned one as a PEFT adapter directory into
     * {@code adapterOut}, unless it is there; staged, then renamed into place.
     */
    private static void exportPolicy(FileStore store, Path policy, Path out, Path adapterOut) {
        Map<String, byte[]> adapter = PeftAdapter.read(store, policy.toString());
        if (!adapter.isEmpty()) {
            if (staged(store, policy, adapterOut, PeftAdapter.CONFIG, dir -> PeftAdapter.write(adapter, dir))) {
                LOG.info("  export: the LoRA adapter (PEFT) in {}; `rlsf export --merge --model {}` writes the merged model",
                        adapterOut, policy);
            }
            return;
        }
        if (staged(store, policy, out, HfModel.CONFIG, dir -> {
            Checkpoint c = Checkpoint.load(store, policy);
            HfExport.write(c.graph(), c.model(), ((HfTokenizer) c.tokenizer()).sourceFiles(), dir, "BF16",
                    HfExport.DEFAULT_SHARD_BYTES);
        })) {
            LOG.info("  export: the policy as a Hugging Face model (bf16) in {}", out);
        }
    }

    /**
     * Writes an export into the local directory {@code out} through a staging sibling renamed into place; false (and
     * nothing written) when {@code out} already holds {@code marker} or is not on the local file system.
     */
    private static boolean staged(FileStore store, Path policy, Path out, String marker,
                                  java.util.function.Consumer<java.nio.file.Path> write) {
        java.io.File local = store.localFile(out);
        if (local == null) {
            LOG.info("  export: {} is not on the local file system; run `rlsf export --model {}`", out, policy);
            return false;
        }
        java.nio.file.Path dir = local.toPath();
        if (java.nio.file.Files.isRegularFile(dir.resolve(marker))) {
            LOG.info("  export: done ({})", out);
            return false;
        }
        java.nio.file.Path staging = dir.resolveSibling(dir.getFileName() + ".staging");
        store.delete(new Path(staging.toUri()));
        write.accept(staging);
        try {
            java.nio.file.Files.move(staging, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot move " + staging + " to " + dir + ": " + e.getMessage(), e);
        }
        return true;
    }

    /** Every problem of an imported corpus file ({@code FORMAT:PATH}, run.prompts-file / run.heldout-file). */
    static List<Problem> importedProblems(FileStore store, String file) {
        String format = file.substring(0, file.indexOf(':')), path = file.substring(file.indexOf(':') + 1);
        try (java.io.BufferedReader in = store.openText(FileStore.path(path))) {
            return ProblemImport.read(format, in, path, false).problems();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    private static void writeCorpus(SparkSession spark, FileStore store, Path dir, List<String> tasks, String file, int perTask,
                                    long seed, String split) {
        if (CorpusTable.isCorpusTable(store, dir)) {
            LOG.info("  reusing {}", dir);
            return;
        }
        if (!file.isEmpty()) {   // an imported corpus: its first perTask rows
            List<Problem> all = importedProblems(store, file);
            List<Problem> problems = all.subList(0, Math.min(perTask, all.size()));
            CorpusTable.write(spark, store, dir, problems, split, "imported:" + file, Map.of("n", problems.size()));
            LOG.info("  wrote {} {} problems from {} to {}", problems.size(), split, file, dir);
            return;
        }
        List<Problem> problems = TaskCorpus.generate(tasks, perTask, seed, split);
        CorpusTable.write(spark, store, dir, problems, split, "generated:" + String.join("+", tasks),
                Map.of("seed", seed, "n_per_task", perTask));
        LOG.info("  wrote {} {} problems to {}", problems.size(), split, dir);
    }

    private static void pretrainBase(SparkSession spark, FileStore store, RlsfConfig config, RunLayout layout) {
        if (RunLayout.isCheckpoint(store, layout.base())) {
            return;
        }
        RunConfig run = config.run();
        List<String> corpora = new ArrayList<>();
        for (String task : run.tasks()) {
            Path train = layout.pretrainCorpus(task);
            if (!CorpusTable.isCorpusTable(store, train)) {
                CorpusTable.write(spark, store, train, TaskCorpus.generate(TaskFamily.of(task), run.trainProblems(), run.seed(),
                        TaskCorpus.TRAIN), TaskCorpus.TRAIN, "generated:" + task, Map.of("seed", run.seed(), "n", run.trainProblems()));
            }
            corpora.add(train.toString());
        }
        PretrainStage.Result r = PretrainStage.run(() -> spark, store, config, corpora, layout.pretrain());
        Checkpoint c = Checkpoint.load(store, r.checkpoint());
        Checkpoint.save(store, layout.base(), c.graph(), c.tokenizer(), c.model(), c.lineage());
    }
}
