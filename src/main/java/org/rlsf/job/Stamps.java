package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.config.RlsfConfig;
import org.rlsf.io.FileStore;
import org.rlsf.io.RunLayout;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.hf.HfImport;
import org.rlsf.train.TrainerState;
import org.rlsf.io.StageStamp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Model.CommandSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * Stage-by-stage resume for the commands the DAGs run: a command that finds its own stamp (same command line,
 * configuration and inputs: {@link StageStamp}) beside its output logs that and does nothing; otherwise it runs (each
 * stage resuming what it can: generate by shard, training by epoch, PPO by round) and stamps its output at the end.
 */
final class Stamps {
    private static final Logger LOG = LoggerFactory.getLogger(Stamps.class);

    private final FileStore store;
    private final String command;
    private final List<String> args;
    private final String configHash;
    private final Path file;
    private final List<Path> inputs;
    private final List<Path> outputs;

    private Stamps(FileStore store, String command, List<String> args, String configHash, Path file, List<Path> inputs,
                   List<Path> outputs) {
        this.store = store;
        this.command = command;
        this.args = args;
        this.configHash = configHash;
        this.file = file;
        this.inputs = inputs;
        this.outputs = outputs;
    }

    /** The stamp of the inputs and outputs as they are now. */
    private StageStamp now() {
        return StageStamp.of(store, command, args, configHash, inputs, outputs);
    }

    /**
     * @param key    tells apart runs that share one output table (the run id), or null
     * @param inputs what the stage reads (null entries are skipped)
     */
    static Stamps of(FileStore store, CommandSpec spec, String configHash, Path out, String key, Path... inputs) {
        return of(store, spec, configHash, out, key, List.of(key == null ? out : RunLayout.runPartition(out, key)), inputs);
    }

    /** As {@link #of(FileStore, CommandSpec, String, Path, String, Path...)} with the outputs named. */
    static Stamps of(FileStore store, CommandSpec spec, String configHash, Path out, String key, List<Path> outputs,
                     Path... inputs) {
        List<Path> in = new ArrayList<>();
        for (Path p : inputs) {
            if (p != null) {
                in.add(p);
            }
        }
        List<String> args = spec.commandLine().getParseResult() == null ? List.of()
                : spec.commandLine().getParseResult().originalArgs();
        return new Stamps(store, spec.name(), args, configHash, StageStamp.file(out, spec.name(), key), in, outputs);
    }

    /** A model argument as an input: the directory of a checkpoint or an hf: model; none for a built-in model. */
    static Path modelInput(String model) {
        if (model.startsWith(Checkpoint.BUILTIN_PREFIX)) {
            return null;   // inside the jar: the command line names it exactly
        }
        return FileStore.path(HfImport.isSpec(model) ? model.substring(model.indexOf(':') + 1) : model);
    }

    /** A table read for one run: that run's partition (a table shared by runs changes when other runs write it). */
    static Path tableInput(Path table, String runId) {
        return runId == null ? table : RunLayout.runPartition(table, runId);
    }

    /**
     * Where a training command resumes from: {@code --resume-from} when given; else its own output when that holds a
     * complete epoch trained with the same configuration (a retried task continues); else nowhere.
     */
    static Path resumeFrom(FileStore store, RlsfConfig config, Path out, String resumeFromOption) {
        if (resumeFromOption != null) {
            return FileStore.path(resumeFromOption);
        }
        if (!TrainerState.hasCompleteEpoch(store, out)) {
            return null;
        }
        Path conf = new Path(out, "config.conf");
        if (store.exists(conf) && store.readText(conf).equals(config.render())) {
            LOG.info("resuming {} after its last complete epoch (same settings)", store.qualify(out));
            return out;
        }
        LOG.warn("{} holds epochs trained with other settings: training again from the base", store.qualify(out));
        return null;
    }

    /** True (and logged) when the output is complete from the same command line, configuration and inputs. */
    boolean done() {
        String why;
        try {
            why = now().difference(store, file);
        } catch (RuntimeException e) {   // a store that cannot list or read it: do the work
            LOG.warn("{}: cannot check {} ({}); running", command, file, e.toString());
            return false;
        }
        if (why == null) {
            LOG.info("{}: already complete with the same command line, settings and inputs ({}); nothing to do",
                    command, store.qualify(file));
            return true;
        }
        if (store.exists(file)) {
            LOG.info("{}: running again: {}", command, why);
        }
        return false;
    }

    /** Marks the output complete, with the fingerprints its output has now; the stage's last write. */
    void mark() {
        try {
            now().write(store, file);
        } catch (RuntimeException e) {   // the stage's output is complete either way; only its rerun will not be skipped
            LOG.warn("{}: finished, but cannot stamp {} ({}): a rerun will do the work again", command, file,
                    e.toString());
        }
    }
}
