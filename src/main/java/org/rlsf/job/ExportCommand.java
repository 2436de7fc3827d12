package org.rlsf.job;

import org.rlsf.io.FileStore;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.hf.HfExport;
import org.rlsf.model.hf.HfTokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code rlsf export}: a checkpoint of an imported model as a Hugging Face model directory ({@link HfExport}). */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a checkpoint of a model imported from Hugging Face (hf:DIR) as a Hugging Face model directory.")
final class ExportCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ExportCommand.class);

    @Option(names = "--model", required = true, paramLabel = "CKPT", description = "A checkpoint (or hf:DIR).")
    String model;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "A new local directory.")
    Path out;

    @Option(names = "--dtype", defaultValue = "bf16", paramLabel = "TYPE",
            description = "bf16, f16 or f32 (default ${DEFAULT-VALUE}; rounded to nearest even).")
    String dtype;

    @Option(names = "--shard-size-mb", defaultValue = "5000", paramLabel = "MB",
            description = "Split the weights into files of at most this size (default ${DEFAULT-VALUE}, as save_pretrained).")
    long shardMb;

    @Override
    public Integer call() {
        String type = dtype.toUpperCase(Locale.ROOT);
        if (!java.util.List.of("BF16", "F16", "F32").contains(type)) {
            throw new IllegalArgumentException("--dtype must be bf16, f16 or f32, was " + dtype);
        }
        Checkpoint ckpt = Checkpoint.open(FileStore.local(), model);
        if (!(ckpt.tokenizer() instanceof HfTokenizer hf)) {
            throw new IllegalArgumentException(model + " is rlsf's own model (word tokenizer, output bias), not one imported "
                    + "from Hugging Face: only those can be exported");
        }
        Map<String, Long> files = HfExport.write(ckpt.graph(), ckpt.model(), hf.sourceFiles(), out, type, shardMb * 1_000_000L);
        long total = files.values().stream().mapToLong(Long::longValue).sum();
        LOG.info("exported {} (weights sha256 {}) to {}: {} files, {} MB, {}", model, ckpt.weightsSha256().substring(0, 12),
                out, files.size(), String.format("%.1f", total / 1e6), type);
        return 0;
    }
}
