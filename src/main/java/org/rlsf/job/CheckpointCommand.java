package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.io.FileStore;
import org.rlsf.io.RunLayout;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.hf.HfImport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/**
 * Puts a base model where the stage jobs read it: {@code builtin:NAME} is copied out of the jar to
 * {@code --out} (local or any Hadoop file system the executors share), {@code hf:DIR} (a Hugging Face model
 * directory) is converted into a checkpoint there; an existing checkpoint directory is verified (weights hash)
 * and its hash printed. Stage-by-stage pipelines (deploy/airflow) start with it.
 * {@code --weights-only-out} writes a verified copy without the optimiser state (a third of the size, same
 * weights hash): how a pretrained base is shipped as {@code builtin:base}.
 */
@Command(name = "checkpoint", mixinStandardHelpOptions = true,
        description = "Copy a built-in model (builtin:base) or convert a Hugging Face model (hf:DIR) to a directory the "
                + "cluster reads, or verify a checkpoint.")
final class CheckpointCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointCommand.class);

    @Option(names = "--from", paramLabel = "SPEC", defaultValue = "builtin:base",
            description = "builtin:NAME, hf:DIR or a checkpoint directory (default ${DEFAULT-VALUE}).")
    String from;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Where to put a built-in or converted model (kept if the same model is already there).")
    String out;

    @Option(names = "--weights-only-out", paramLabel = "DIR",
            description = "Also write a copy without the optimiser state (same weights hash) to DIR, e.g. to ship a base model.")
    String weightsOnlyOut;

    @Override
    public Integer call() {
        FileStore store = FileStore.local();
        Path dir;
        Checkpoint ckpt = null;
        if (from.startsWith(Checkpoint.BUILTIN_PREFIX) || HfImport.isSpec(from)) {
            if (out == null) {
                throw new IllegalArgumentException("--out DIR is required to copy or convert " + from);
            }
            dir = FileStore.path(out);
            Stamps stamp = Stamps.of(store, spec, "", dir, null, Stamps.modelInput(from));
            if (weightsOnlyOut == null && stamp.done() && RunLayout.isCheckpoint(store, dir)) {
                return 0;
            }
            if (HfImport.isSpec(from)) {
                ckpt = Checkpoint.convert(store, from, dir);   // verified already
            } else {
                Checkpoint.materializeBuiltin(store, from, dir);
            }
            stamp.mark();
        } else {
            if (out != null) {
                throw new IllegalArgumentException("--out is for builtin and hf: models; copy checkpoint directories with "
                        + "`hadoop fs -cp` (this command only verifies " + from + ")");
            }
            dir = FileStore.path(from);
        }
        if (ckpt == null) {
            ckpt = Checkpoint.load(store, dir);
        }
        LOG.info("checkpoint {}: weights sha256 {}", store.qualify(dir), ckpt.weightsSha256());
        if (weightsOnlyOut != null) {
            Path slim = FileStore.path(weightsOnlyOut);
            Checkpoint.save(store, slim, ckpt.graph(), ckpt.tokenizer(), ckpt.model(), ckpt.lineage(), false,
                    Checkpoint.extraFiles(store, dir));
            String hash = Checkpoint.load(store, slim).weightsSha256();      // reads back what was written, verified
            if (!hash.equals(ckpt.weightsSha256())) {
                throw new IllegalStateException("the copy at " + slim + " has weights sha256 " + hash + ", not " + ckpt.weightsSha256());
            }
            LOG.info("wrote {} without optimiser state: weights sha256 {}", store.qualify(slim), hash);
        }
        return 0;
    }
}
