package org.rlsf.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.Path;
import org.rlsf.config.RlsfConfig;
import org.rlsf.io.FileStore;
import org.rlsf.io.SparkSessions;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.TextSampler;
import org.rlsf.train.PretrainStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The main job. For now: pretrain the base model on {@code run.corpus}, then sample
 * {@code run.prompts} from it, under {@code <runs>/<run_id>/}. Rerunning an existing run id reuses
 * its finished checkpoint.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "The main job, end to end: pretrain the base model on the configured corpus and sample from it.")
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
        LOG.info("run {} in {}", id, runDir);

        // 1) base model
        Path pretrainDir = new Path(new Path(runDir, "checkpoints"), "base");
        Path ckptDir = new Path(pretrainDir, "checkpoint");
        if (store.exists(new Path(ckptDir, "checkpoint.json"))) {
            LOG.info("[1/2] pretrain: reusing the finished checkpoint {}", ckptDir);
        } else {
            LOG.info("[1/2] pretrain on {}", config.raw().getString("run.corpus"));
            PretrainStage.Result r = PretrainStage.run(SparkSessions.lazy(config.raw().getConfig("spark")), store, config,
                    List.of(config.raw().getString("run.corpus")), pretrainDir);
            LOG.info(String.format("pretrained in %s: held-out loss %.4f nats/token (uniform %.4f)",
                    PretrainStage.duration(r.seconds()), r.finalHeldoutLoss(), r.uniformLoss()));
        }

        // 2) samples
        LOG.info("[2/2] sample");
        Checkpoint ckpt = Checkpoint.load(store, ckptDir);
        List<String> prompts = config.raw().getStringList("run.prompts");
        List<TextSampler.Completion> completions = TextSampler.complete(ckpt, prompts, config.sample());
        StringBuilder jsonl = new StringBuilder();
        ObjectMapper json = new ObjectMapper();
        for (TextSampler.Completion c : completions) {
            LOG.info("  {}{}", c.prompt().replace("\n", "\\n"), c.completion().replace("\n", "\\n"));
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("prompt", c.prompt());
            row.put("completion", c.completion());
            row.put("finish_reason", c.finish().name().toLowerCase());
            try {
                jsonl.append(json.writeValueAsString(row)).append('\n');
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        store.writeText(new Path(runDir, "samples.jsonl"), jsonl.toString());
        LOG.info(String.format("run %s finished in %s: checkpoint %s, samples %s", id,
                PretrainStage.duration((System.nanoTime() - t0) / 1e9), ckptDir, new Path(runDir, "samples.jsonl")));
        return 0;
    }
}
