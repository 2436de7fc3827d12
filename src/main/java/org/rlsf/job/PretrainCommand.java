package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.config.RlsfConfig;
import org.rlsf.io.FileStore;
import org.rlsf.io.SparkSessions;
import org.rlsf.report.Durations;
import org.rlsf.train.PretrainStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = "Train the language model on a text/JSONL corpus with Spark parameter averaging.")
final class PretrainCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(PretrainCommand.class);

    @Mixin
    ConfigOptions options;

    @Option(names = "--corpus", required = true, paramLabel = "PATH", split = ",",
            description = "Corpus: .jsonl with a 'text' field per line, or plain text with blank-line-separated documents; "
                    + "a Parquet corpus from `rlsf corpus` (rendered with pretrain.cot-fraction); any Hadoop URI, or "
                    + "builtin:NAME. Repeat or comma-separate for several.")
    List<String> corpus;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output directory: config.conf, metrics.jsonl, logs/, checkpoint/.")
    String out;

    @Override
    public Integer call() {
        RlsfConfig config = options.load();
        FileStore store = FileStore.local();
        Path outDir = FileStore.path(out);
        Console.logTo(Outputs.logFileFor(store, outDir, "pretrain"));
        LOG.info("pretrain on {}", corpus);
        PretrainStage.Result r = PretrainStage.run(SparkSessions.lazy(config.spark()), store,
                config, corpus, outDir);
        LOG.info(String.format("done in %s: held-out loss %.4f nats/token (uniform ln V = %.4f); checkpoint %s",
                Durations.format(r.seconds()), r.finalHeldoutLoss(), r.uniformLoss(), r.checkpoint()));
        return 0;
    }
}
