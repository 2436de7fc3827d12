package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.config.RlsfConfig;
import org.rlsf.io.FileStore;
import org.rlsf.pipeline.PpoStage;
import org.rlsf.report.Durations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code rlsf ppo}: RLSF-PPO of the base against a reward model on unlabelled prompts ({@link PpoStage}). */
@Command(name = "ppo", mixinStandardHelpOptions = true,
        description = "RLSF-PPO: sample the policy on unlabelled prompts each round, score with a frozen reward model, "
                + "KL-penalise against the frozen base, and update policy and value model with clipped PPO through "
                + "dl4j-spark parameter averaging; settings in the `ppo` section.")
final class PpoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    private static final Logger LOG = LoggerFactory.getLogger(PpoCommand.class);

    @Mixin
    ConfigOptions options;

    @Option(names = "--model", required = true, paramLabel = "BASE",
            description = "The base: starting policy and KL reference; a checkpoint directory, or hf:DIR (converted once into OUT/_base).")
    String model;

    @Option(names = "--reward-model", required = true, paramLabel = "DIR", description = "A reward model from `rlsf reward-model` on this base.")
    String rewardModel;

    @Option(names = "--corpus", required = true, paramLabel = "DIR", description = "A prompt corpus (its answers are never read).")
    String corpus;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output: config.conf, metrics.jsonl, rounds/round-N/, checkpoint/ (the last round's policy). "
                    + "A rerun resumes after the last complete round.")
    String out;

    @Override
    public Integer call() {
        RlsfConfig config = options.load();
        FileStore store = FileStore.local();
        Path outDir = FileStore.path(out);
        Stamps stamp = Stamps.of(store, spec, config.hash(), outDir, null, Stamps.modelInput(model),
                FileStore.path(rewardModel), FileStore.path(corpus));
        if (stamp.done()) {
            return 0;
        }
        Console.logTo(Outputs.logFileFor(store, outDir, "ppo"));
        PpoStage.Result r = PpoStage.run(config, store, ModelArgs.resolve(store, model, outDir), FileStore.path(rewardModel),
                FileStore.path(corpus), outDir);
        LOG.info("done in {}: {} rounds; policy {} (weights sha256 {})", Durations.format(r.seconds()), r.rounds(),
                r.checkpoint(), r.weightsSha256().substring(0, 12));
        stamp.mark();
        return 0;
    }
}
