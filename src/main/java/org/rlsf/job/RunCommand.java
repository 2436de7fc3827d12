package org.rlsf.job;

import org.rlsf.config.RlsfConfig;
import org.rlsf.io.FileStore;
import org.rlsf.io.RunLayout;
import org.rlsf.pipeline.MainJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;

/** {@code rlsf run}: the main job under one run directory ({@link MainJob}); an existing run id resumes. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "The main job: corpus -> generate -> pairs -> train (DPO) -> evaluate -> report, under one run directory.")
final class RunCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--run-id", converter = RunIdOption.class, paramLabel = "ID", description = "Run id (default: a timestamp); an existing id resumes.")
    String runId;

    @Option(names = "--out", paramLabel = "DIR", description = "Runs directory (default: rlsf.run.runs-dir).")
    String out;

    @Override
    public Integer call() {
        RlsfConfig config = options.load().withRunOverrides();
        FileStore store = FileStore.local();
        String id = runId != null ? runId : LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        RunLayout layout = RunLayout.of(out != null ? out : config.run().runsDir(), id);
        store.mkdirs(layout.dir());
        Console.logTo(Outputs.logFileFor(store, layout.dir(), "run"));
        MainJob.run(config, store, layout);
        return 0;
    }
}
