package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.config.EvaluateConfig.Decoding;
import org.rlsf.config.RlsfConfig;
import org.rlsf.io.FileStore;
import org.rlsf.pipeline.EvaluateStage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code rlsf evaluate}: accuracy and calibration of a model on a labelled corpus ({@link EvaluateStage}). */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = "Accuracy and calibration of a model on a labelled corpus (greedy or CoT-decoding), computed on Spark.")
final class EvaluateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ConfigOptions options;

    @Option(names = "--model", required = true, paramLabel = "CKPT", description = "The model to evaluate: a checkpoint directory, or hf:DIR (converted once into OUT/_base).")
    String model;

    @Option(names = "--corpus", required = true, paramLabel = "DIR", description = "A labelled corpus table (held-out split).")
    String corpus;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (problems/, summary.json, ...).")
    String out;

    @Option(names = "--decoding", paramLabel = "MODE",
            description = "greedy | cot-decoding (K = evaluate.k branches, most confident path); default evaluate.decoding.")
    String decoding;

    @Option(names = "--name", paramLabel = "NAME", description = "Name recorded in the rows (default: the decoding).")
    String name;

    @Option(names = "--greedy-out", paramLabel = "DIR",
            description = "With cot-decoding: also write the greedy evaluation to DIR, read off each problem's branch 0 "
                    + "(CoT-decoding's top-1 branch is the greedy path), so one decoding pass serves both.")
    String greedyOut;

    @Option(names = "--reward-model", paramLabel = "CKPT",
            description = "A reward-model checkpoint (rlsf reward-model) that also scores every decoded branch: the summary "
                    + "gains the AUROC of its score against branch correctness and its best-of-K accuracy.")
    String rewardModel;

    @Override
    public Integer call() {
        RlsfConfig config = options.load();
        Decoding mode = decoding != null ? Decoding.parse(decoding) : config.evaluate().decoding();
        if (greedyOut != null && mode != Decoding.COT_DECODING) {
            throw new IllegalArgumentException("--greedy-out needs --decoding cot-decoding (it reads the greedy path off branch 0)");
        }
        FileStore store = FileStore.local();
        Path outDir = FileStore.path(out);
        java.util.List<Path> outputs = greedyOut == null ? java.util.List.of(outDir) : java.util.List.of(outDir, FileStore.path(greedyOut));
        Stamps stamp = Stamps.of(store, spec, config.hash(), outDir, null, outputs, Stamps.modelInput(model), FileStore.path(corpus),
                rewardModel == null ? null : FileStore.path(rewardModel));
        if (stamp.done()) {
            return 0;
        }
        Console.logTo(Outputs.logFileFor(store, outDir, "evaluate"));
        EvaluateStage.Target target = new EvaluateStage.Target(outDir, name != null ? name : mode.configName(), mode);
        EvaluateStage.Target view = greedyOut == null ? null
                : new EvaluateStage.Target(FileStore.path(greedyOut), Decoding.GREEDY.configName(), Decoding.GREEDY);
        EvaluateStage.run(config, store, ModelArgs.resolve(store, model, outDir), FileStore.path(corpus), target, view,
                rewardModel == null ? null : FileStore.path(rewardModel));
        stamp.mark();
        return 0;
    }
}
