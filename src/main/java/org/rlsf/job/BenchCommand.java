package org.rlsf.job;

import org.rlsf.config.BenchConfig;
import org.rlsf.config.ModelConfig;
import org.rlsf.config.RlsfConfig;
import org.rlsf.train.ModelBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks that print name=value figures.",
        subcommands = {BenchCommand.Model.class, BenchCommand.Dpo.class})
final class BenchCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "dpo", mixinStandardHelpOptions = true,
            description = "The DPO training step alone, full fine-tuning or LoRA (train.lora.*): tokens/s, trainable "
                    + "parameters, bytes per averaging round, peak RSS.")
    static final class Dpo implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @Override
        public Integer call() {
            RlsfConfig config = options.load();
            BenchConfig b = config.bench();
            ModelConfig model = config.model(b.vocabSize());
            ModelBench.Settings s = new ModelBench.Settings(b.seqLen(), b.batch(), b.trainSteps(), b.warmupSteps(),
                    b.promptTokens(), b.newTokens(), b.genBatches(), 12345L, 1, config.compute());
            for (Map.Entry<String, String> e : ModelBench.dpo(model, s, config.train().lora()).entrySet()) {
                System.out.println(e.getKey() + "=" + e.getValue());
            }
            return 0;
        }
    }

    @Command(name = "model", mixinStandardHelpOptions = true,
            description = "Training tokens/s and KV-cache generation tokens/s for the configured model size.")
    static final class Model implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @Override
        public Integer call() {
            RlsfConfig config = options.load();
            BenchConfig b = config.bench();
            ModelConfig model = config.model(b.vocabSize());
            ModelBench.Settings s = new ModelBench.Settings(b.seqLen(), b.batch(), b.trainSteps(), b.warmupSteps(),
                    b.promptTokens(), b.newTokens(), b.genBatches(), 12345L,
                    b.workers() > 0 ? b.workers() : Runtime.getRuntime().availableProcessors(), config.compute());
            for (Map.Entry<String, String> e : ModelBench.run(model, s).entrySet()) {
                System.out.println(e.getKey() + "=" + e.getValue());
            }
            return 0;
        }
    }
}
