package org.rlsf.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.rlsf.config.TrainConfig;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.TransformerLm;

import java.util.List;

/** DPO (or IPO) of the policy against the frozen base whose log-probs the pairs carry (method.md §1.5–1.6). */
public record DpoObjective(Checkpoint base, TrainConfig cfg) implements PairObjective {
    @Override
    public String name() {
        return "DPO";
    }

    @Override
    public ComputationGraph trainingGraph(int seqLen, TransformerLm.Optimiser opt) {
        return TransformerLm.create(TransformerLm.preferenceConfiguration(base.model(), seqLen, opt, DataType.FLOAT,
                cfg.beta(), cfg.labelSmoothing(), cfg.loss().configName(), cfg.lora()), base.model());
    }

    @Override
    public void initialise(ComputationGraph training) {
        TransformerLm.copyParams(base.graph(), training);
    }

    @Override
    public Encoder encoder() {
        return PreferenceBatch::toDataSet;
    }

    @Override
    public PreferenceMetrics heldout(ComputationGraph training, List<PreferenceBatch> batches) {
        return PreferenceMetrics.of(training, batches, cfg);
    }

    /** The policy as an ordinary LM checkpoint at the base's length (LoRA adapters merged into its weights). */
    @Override
    public ComputationGraph checkpointGraph(ComputationGraph training) {
        ComputationGraph lm = TransformerLm.create(base.model(), SparkPretrainer.graphSeqLen(base.graph()),
                TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT);
        TransformerLm.copyParams(training, lm);
        return lm;
    }

    @Override
    public String divergenceHint() {
        return "Lower train.learning-rate (now " + cfg.learningRate() + ") or train.beta.";
    }
}
