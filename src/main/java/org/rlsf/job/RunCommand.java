package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.rlsf.config.RlsfConfig;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.SparkSessions;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.TextSampler;
import org.rlsf.tasks.Problem;
import org.rlsf.tasks.Prompts;
import org.rlsf.tasks.TaskFamily;
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
import java.util.function.Supplier;

/**
 * The main job. For now: generate the built-in task corpora, pretrain the base model on them, and
 * sample greedy answers to a few held-out prompts, under {@code <runs>/<run_id>/{config.conf, corpus,
 * checkpoints/base, samples.jsonl, logs}}. Rerunning an existing run id skips finished steps.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "The main job, end to end (for now: task corpora -> pretrain the base model -> sample).")
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
        RlsfConfig config = options.load();
        FileStore store = FileStore.local();
        String id = runId != null ? runId : LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path runDir = new Path(out != null ? out : config.raw().getString("run.runs-dir"), id);
        store.mkdirs(runDir);
        Console.logTo(Outputs.logFileFor(store, runDir, "run"));
        store.writeText(new Path(runDir, "config.conf"), config.render());
        Supplier<SparkSession> spark = SparkSessions.lazy(config.raw().getConfig("spark"));
        List<String> tasks = config.raw().getStringList("run.tasks");
        long seed = config.raw().getLong("run.seed");
        LOG.info("run {} in {}", id, runDir);

        // 1) corpora: train splits for pretraining, held-out prompts for the samples
        LOG.info("[1/3] corpus: {}", tasks);
        List<String> trainCorpora = new ArrayList<>();
        List<Problem> samplePrompts = new ArrayList<>();
        for (String task : tasks) {
            TaskFamily family = TaskFamily.of(task);
            Path train = new Path(new Path(runDir, "corpus"), task + "-train");
            if (!CorpusTable.isCorpusTable(store, train)) {
                int n = config.raw().getInt("run.train-problems");
                CorpusTable.write(spark.get(), store, train, TaskCorpus.generate(family, n, seed, TaskCorpus.TRAIN),
                        TaskCorpus.TRAIN, "generated:" + task, Map.of("seed", seed, "n", n));
                LOG.info("  wrote {} {} problems to {}", n, task, train);
            } else {
                LOG.info("  reusing {}", train);
            }
            trainCorpora.add(train.toString());
            samplePrompts.addAll(TaskCorpus.generate(family, config.raw().getInt("run.sample-problems"), seed,
                    TaskCorpus.HELDOUT));
        }

        // 2) base model
        Path pretrainDir = new Path(new Path(runDir, "checkpoints"), "base");
        Path ckptDir = new Path(pretrainDir, "checkpoint");
        if (store.exists(new Path(ckptDir, "checkpoint.json"))) {
            LOG.info("[2/3] pretrain: reusing the finished checkpoint {}", ckptDir);
        } else {
            LOG.info("[2/3] pretrain on {}", trainCorpora);
            PretrainStage.Result r = PretrainStage.run(spark, store, config, trainCorpora, pretrainDir);
            LOG.info(String.format("  pretrained in %s: held-out loss %.4f nats/token (uniform %.4f)",
                    PretrainStage.duration(r.seconds()), r.finalHeldoutLoss(), r.uniformLoss()));
        }

        // 3) samples (greedy, held-out prompts; answers are not graded here)
        LOG.info("[3/3] sample");
        Checkpoint ckpt = Checkpoint.load(store, ckptDir);
        List<String> prompts = samplePrompts.stream().map(Prompts::qa).toList();
        List<TextSampler.Completion> completions = TextSampler.complete(ckpt, prompts, config.sample());
        for (TextSampler.Completion c : completions) {
            LOG.info("  {}{}", c.prompt().replace("\n", "\\n"), c.completion().replace("\n", "\\n"));
        }
        store.writeText(new Path(runDir, "samples.jsonl"),
                Outputs.completionsJsonl(completions, samplePrompts.stream().map(Problem::problemId).toList()));
        LOG.info(String.format("run %s finished in %s: checkpoint %s, samples %s", id,
                PretrainStage.duration((System.nanoTime() - t0) / 1e9), ckptDir, new Path(runDir, "samples.jsonl")));
        return 0;
    }
}
