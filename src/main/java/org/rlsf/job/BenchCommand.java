package org.rlsf.job;

import org.rlsf.config.BenchConfig;
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
            print(ModelBench.dpo(config.model(config.bench().vocabSize()), settings(config, 1), config.train().lora()));
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
            int workers = config.bench().workers();
            print(ModelBench.run(config.model(config.bench().vocabSize()),
                    settings(config, workers > 0 ? workers : Runtime.getRuntime().availableProcessors())));
            return 0;
        }
    }

    /** bench.model's shapes, seeded, with {@code workers} concurrent workers measured beside one. */
    private static ModelBench.Settings settings(RlsfConfig config, int workers) {
        BenchConfig b = config.bench();
        return new ModelBench.Settings(b.seqLen(), b.batch(), b.trainSteps(), b.warmupSteps(), b.promptTokens(),
                b.newTokens(), b.genBatches(), 12345L, workers, config.compute());
    }

    /** The figures as name=value lines (what bench/run and bench/lora parse). */
    private static void print(Map<String, String> figures) {
        figures.forEach((k, v) -> System.out.println(k + "=" + v));
    }
}
