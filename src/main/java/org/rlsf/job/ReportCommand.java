package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.io.FileStore;
import org.rlsf.io.RunLayout;
import org.rlsf.report.RunReport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code rlsf report --run DIR}: the run report from the written artefacts. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Markdown + HTML report of a run (results table, reliability diagrams, DPO curves, pairs, config, lineage).")
final class ReportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    private static final Logger LOG = LoggerFactory.getLogger(ReportCommand.class);

    @Option(names = "--run", required = true, paramLabel = "DIR", description = "A run directory of `rlsf run`.")
    String run;

    @Override
    public Integer call() {
        FileStore store = FileStore.local();
        RunLayout layout = RunLayout.at(FileStore.path(run));
        Stamps stamp = Stamps.of(store, spec, "", layout.report(), null, new Path(layout.dir(), "eval"),
                new Path(layout.dir(), "checkpoints"), new Path(layout.dir(), "pairs"), layout.config());
        if (stamp.done()) {
            return 0;
        }
        RunReport.Result r = RunReport.write(store, layout);
        r.table().forEach(LOG::info);
        r.checks().forEach(c -> LOG.info("  " + c));
        LOG.info("report: {}", new Path(r.dir(), "report.md"));
        stamp.mark();
        return 0;
    }
}
