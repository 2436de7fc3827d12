package org.rlsf.job;

import org.rlsf.io.FileStore;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.hf.HfExport;
import org.rlsf.model.hf.HfTokenizer;
import org.rlsf.model.hf.PeftAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code rlsf export}: a checkpoint of an imported model as a Hugging Face model directory ({@link HfExport}), or a
 * LoRA policy's adapter as a PEFT adapter directory ({@link PeftAdapter}).
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a checkpoint of a model imported from Hugging Face (hf:DIR) as a Hugging Face model directory; "
                + "a LoRA-trained policy as a PEFT adapter directory (--merge: the merged model instead).")
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

    @Option(names = "--merge", description = "For a LoRA-trained policy: write the whole model with the adapter merged "
            + "into its weights instead of the adapter.")
    boolean merge;

    @Option(names = "--base-model-name", paramLabel = "NAME", description = "The adapter's base_model_name_or_path "
            + "(default: the directory the base was imported from).")
    String baseModelName;

    @Override
    public Integer call() {
        String type = dtype.toUpperCase(Locale.ROOT);
        if (!java.util.List.of("BF16", "F16", "F32").contains(type)) {
            throw new IllegalArgumentException("--dtype must be bf16, f16 or f32, was " + dtype);
        }
        Map<String, byte[]> adapter = PeftAdapter.read(FileStore.local(), model);
        if (!adapter.isEmpty() && !merge) {
            if (baseModelName != null) {
                adapter.put(PeftAdapter.CONFIG, PeftAdapter.withBaseModel(adapter.get(PeftAdapter.CONFIG), baseModelName));
            }
            PeftAdapter.write(adapter, out);
            LOG.info("exported the LoRA adapter of {} to {} (PEFT: {} and {}, {} bytes); --merge writes the whole model",
                    model, out, PeftAdapter.CONFIG, PeftAdapter.WEIGHTS, adapter.get(PeftAdapter.WEIGHTS).length);
            return 0;
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
