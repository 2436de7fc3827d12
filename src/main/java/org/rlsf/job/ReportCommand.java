package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.io.FileStore;
import org.rlsf.io.RunLayout;
import org.rlsf.report.RunReport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code rlsf report --run DIR}: the run report from the written artefacts. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Markdown + HTML report of a run (results table, reliability diagrams, DPO curves, pairs, config, lineage).")
final class ReportCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ReportCommand.class);

    @Option(names = "--run", required = true, paramLabel = "DIR", description = "A run directory of `rlsf run`.")
    String run;

    @Override
    public Integer call() {
        FileStore store = FileStore.local();
        RunReport.Result r = RunReport.write(store, RunLayout.at(FileStore.path(run)));
        r.table().forEach(LOG::info);
        r.checks().forEach(c -> LOG.info("  " + c));
        LOG.info("report: {}", new Path(r.dir(), "report.md"));
        return 0;
    }
}
