package org.rlsf.job;

import com.typesafe.config.Config;
import org.rlsf.config.ModelConfig;
import org.rlsf.config.RlsfConfig;
import org.rlsf.train.ModelBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks that print name=value figures.",
        subcommands = {BenchCommand.Model.class})
final class BenchCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "model", mixinStandardHelpOptions = true,
            description = "Training tokens/s and KV-cache generation tokens/s for the configured model size.")
    static final class Model implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @Override
        public Integer call() {
            RlsfConfig config = options.load();
            Config b = config.raw().getConfig("bench.model");
            ModelConfig model = config.model(b.getInt("vocab-size"));
            ModelBench.Settings s = new ModelBench.Settings(b.getInt("seq-len"), b.getInt("batch"),
                    b.getInt("train-steps"), b.getInt("warmup-steps"), b.getInt("prompt-tokens"),
                    b.getInt("new-tokens"), b.getIntList("gen-batches"), 12345L,
                    b.getInt("workers") > 0 ? b.getInt("workers") : Runtime.getRuntime().availableProcessors());
            for (Map.Entry<String, String> e : ModelBench.run(model, s).entrySet()) {
                System.out.println(e.getKey() + "=" + e.getValue());
            }
            return 0;
        }
    }
}
