package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.config.RlsfConfig;
import org.rlsf.config.SampleConfig;
import org.rlsf.io.FileStore;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.KvCacheDecoder;
import org.rlsf.model.TextSampler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "sample", mixinStandardHelpOptions = true,
        description = "Generate text from a checkpoint (greedy or seeded sampling, KV-cache decoding).")
final class SampleCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(SampleCommand.class);

    @Mixin
    ConfigOptions options;

    @Option(names = "--model", required = true, paramLabel = "CKPT", description = "Checkpoint directory (or a pretrain output directory, or hf:DIR).")
    String model;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "Prompt text; \\n stands for a newline. Repeatable.")
    List<String> prompts = new ArrayList<>();

    @Option(names = "--prompts-file", paramLabel = "FILE", description = "One prompt per line (\\n escapes allowed).")
    String promptsFile;

    @Option(names = "--max-new-tokens", paramLabel = "N", description = "Overrides sample.max-new-tokens.")
    Integer maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", description = "Overrides sample.temperature (0 = greedy).")
    Double temperature;

    @Option(names = "--top-k", paramLabel = "K", description = "Overrides sample.top-k.")
    Integer topK;

    @Option(names = "--seed", paramLabel = "S", description = "Overrides sample.seed.")
    Long seed;

    @Option(names = "--out", paramLabel = "FILE",
            description = "Also write the completions as JSONL (and the resolved config as FILE.config.conf).")
    String out;

    @Override
    public Integer call() {
        RlsfConfig config = options.load();
        FileStore store = FileStore.local();
        if (out != null) {
            Path outPath = FileStore.path(out);
            Console.logTo(Outputs.logFileFor(store, outPath.getParent() == null ? new Path(".") : outPath.getParent(), "sample"));
        }
        SampleConfig base = config.sample();
        SampleConfig cfg = new SampleConfig(maxNewTokens != null ? maxNewTokens : base.maxNewTokens(),
                temperature != null ? temperature : base.temperature(), topK != null ? topK : base.topK(),
                seed != null ? seed : base.seed());
        List<String> all = new ArrayList<>();
        prompts.forEach(p -> all.add(unescape(p)));
        if (promptsFile != null) {
            try (BufferedReader in = store.openText(FileStore.path(promptsFile))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (!line.isBlank()) {
                        all.add(unescape(line));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + promptsFile + ": " + e.getMessage(), e);
            }
        }
        if (all.isEmpty()) {
            throw new IllegalArgumentException("no prompts: give --prompt TEXT or --prompts-file FILE");
        }
        Checkpoint ckpt = Checkpoint.open(store, model);
        List<TextSampler.Completion> completions = TextSampler.complete(ckpt, all, cfg,
                KvCacheDecoder.Attention.of(config.compute().decoding()));
        for (TextSampler.Completion c : completions) {
            LOG.info("{}{}   [{} tokens, {}]", c.prompt(), c.completion(), c.tokens(), c.finish());
        }
        if (out != null) {
            store.writeText(FileStore.path(out), Outputs.completionsJsonl(completions, null));
            store.writeText(FileStore.path(out + ".config.conf"), config.render());
            LOG.info("wrote {} completions to {}", completions.size(), out);
        }
        return 0;
    }

    static String unescape(String s) {
        return s.replace("\\n", "\n");
    }
}
