package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.config.RlsfConfig;
import org.rlsf.io.FileStore;
import org.rlsf.pipeline.TrainStage;
import org.rlsf.report.Durations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code rlsf train}: DPO of the base on the pairs table, with Spark parameter averaging ({@link TrainStage}). */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Preference fine-tuning (DPO/IPO) of the base model on a pairs table, with dl4j-spark parameter averaging.")
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    private static final Logger LOG = LoggerFactory.getLogger(TrainCommand.class);

    @Mixin
    ConfigOptions options;

    @Option(names = "--model", required = true, paramLabel = "BASE", description = "The frozen base: starting policy and reference; a checkpoint directory, or hf:DIR (converted once into OUT/_base).")
    String model;

    @Option(names = "--pairs", required = true, paramLabel = "DIR", description = "A pairs table from `rlsf pairs` made with this base.")
    String pairs;

    @Option(names = "--run-id", converter = RunIdOption.class, paramLabel = "ID", description = "Only this run's pairs (default: every run in the table).")
    String runId;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output: config.conf, metrics.jsonl, epochs/epoch-N/, checkpoint/ (the selected epoch).")
    String out;

    @Option(names = "--resume-from", paramLabel = "DIR",
            description = "A previous --out: continue after its last complete epoch (same data order and seed).")
    String resumeFrom;

    @Override
    public Integer call() {
        RlsfConfig config = options.load();
        FileStore store = FileStore.local();
        Path outDir = FileStore.path(out);
        Stamps stamp = Stamps.of(store, spec, config.hash(), outDir, null, Stamps.modelInput(model),
                Stamps.tableInput(FileStore.path(pairs), runId));
        if (stamp.done()) {
            return 0;
        }
        Console.logTo(Outputs.logFileFor(store, outDir, "train"));
        TrainStage.Result r = TrainStage.run(config, store, FileStore.path(pairs), runId, ModelArgs.resolve(store, model, outDir), outDir,
                Stamps.resumeFrom(store, config, outDir, resumeFrom));
        LOG.info(String.format("done in %s: %d train / %d held-out pairs; held-out loss %.4f -> %.4f, reward accuracy %.2f, "
                        + "margin %+.3f (epoch %d); checkpoint %s", Durations.format(r.seconds()), r.trainPairs(),
                r.heldoutPairs(), r.initial().loss(), r.selected() == null ? Double.NaN : r.selected().loss(),
                r.selected() == null ? Double.NaN : r.selected().accuracy(),
                r.selected() == null ? Double.NaN : r.selected().margins(), r.selectedEpoch(), r.checkpoint()));
        stamp.mark();
        return 0;
    }
}
