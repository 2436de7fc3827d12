package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.config.RlsfConfig;
import org.rlsf.io.FileStore;
import org.rlsf.pipeline.GenerateStage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code rlsf generate}: the traces table of a corpus under a frozen model ({@link GenerateStage}). */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Self-feedback data on Spark: CoT-decode every prompt, locate answer spans, score confidence, write the traces table.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ConfigOptions options;

    @Option(names = "--model", required = true, paramLabel = "CKPT", description = "The frozen base model: a checkpoint directory, or hf:DIR (converted once into OUT/_base).")
    String model;

    @Option(names = "--corpus", required = true, paramLabel = "DIR", description = "A corpus table from `rlsf corpus` (answers are not read).")
    String corpus;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The traces table (partitioned by run_id, shard).")
    String out;

    @Option(names = "--run-id", converter = RunIdOption.class, paramLabel = "ID", defaultValue = "default",
            description = "Run id (partition); rerunning an id resumes it (default: ${DEFAULT-VALUE}).")
    String runId;

    @Override
    public Integer call() {
        RlsfConfig config = options.load();
        FileStore store = FileStore.local();
        Path table = FileStore.path(out);
        Stamps stamp = Stamps.of(store, spec, config.hash(), table, runId, Stamps.modelInput(model), FileStore.path(corpus));
        if (stamp.done()) {
            return 0;
        }
        Console.logTo(Outputs.logFileFor(store, table, "generate"));
        GenerateStage.run(config, store, ModelArgs.resolve(store, model, table), FileStore.path(corpus), table, runId);
        stamp.mark();
        return 0;
    }
}
