package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.config.RlsfConfig;
import org.rlsf.io.FileStore;
import org.rlsf.pipeline.PairsStage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code rlsf pairs}: preference pairs from a traces table ({@link PairsStage}); reads no gold answers. */
@Command(name = "pairs", mixinStandardHelpOptions = true,
        description = "Rank each prompt's traces by confidence into chosen/rejected preference pairs (Parquet).")
final class PairsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ConfigOptions options;

    @Option(names = "--traces", required = true, paramLabel = "DIR", description = "A traces table from `rlsf generate`.")
    String traces;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The pairs table (partitioned by run_id).")
    String out;

    @Option(names = "--run-id", converter = RunIdOption.class, paramLabel = "ID", description = "Only this run of the traces table (default: every run in it).")
    String runId;

    @Override
    public Integer call() {
        RlsfConfig config = options.load();
        FileStore store = FileStore.local();
        Path table = FileStore.path(out);
        Stamps stamp = Stamps.of(store, spec, config.hash(), table, runId, Stamps.tableInput(FileStore.path(traces), runId));
        if (stamp.done()) {
            return 0;
        }
        Console.logTo(Outputs.logFileFor(store, table, "pairs"));
        PairsStage.run(config, store, FileStore.path(traces), table, runId);
        stamp.mark();
        return 0;
    }
}
