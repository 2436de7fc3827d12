package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.io.FileStore;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.hf.HfImport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A command's {@code --model}: a checkpoint directory, or {@code hf:DIR} converted once beside the command's output. */
final class ModelArgs {
    private static final Logger LOG = LoggerFactory.getLogger(ModelArgs.class);
    /** Where a Spark command converts an hf: model: hidden inside its output (Spark skips _-prefixed paths). */
    static final String CONVERTED = "_base";

    private ModelArgs() {
    }

    /**
     * The checkpoint directory executors read: {@code spec} itself, or for {@code hf:DIR} its conversion into
     * {@code out/_base} (kept when the same model is already there, so a rerun does not convert again).
     */
    static Path resolve(FileStore store, String spec, Path out) {
        if (!HfImport.isSpec(spec)) {
            return FileStore.path(spec);
        }
        Path dir = new Path(out, CONVERTED);
        Checkpoint c = Checkpoint.convert(store, spec, dir);
        LOG.info("model {} converted to {} (weights sha256 {})", spec, dir, c.weightsSha256().substring(0, 12));
        return dir;
    }
}
