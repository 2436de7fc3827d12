package org.rlsf.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.TransformerLm;

import java.util.List;

/**
 * The Bradley–Terry reward model (method.md §6.1): the base's trunk under a scalar head, trained on the
 * confidence-ranked pairs with {@code −log σ(r_c − r_r − m)}, m = exp(c_c − c_r) or 0.
 *
 * @param useMargin the pair's confidence margin in the loss (the paper's code); false = plain Bradley–Terry
 */
public record RewardObjective(Checkpoint base, boolean useMargin, double learningRate) implements PairObjective {
    @Override
    public String name() {
        return "reward model";
    }

    @Override
    public ComputationGraph trainingGraph(int seqLen, TransformerLm.Optimiser opt) {
        return TransformerLm.create(TransformerLm.rewardConfiguration(base.model(), RewardBatch.length(seqLen), opt,
                DataType.FLOAT), base.model());
    }

    @Override
    public void initialise(ComputationGraph training) {
        TransformerLm.copyTrunk(base.graph(), training);
    }

    @Override
    public Encoder encoder() {
        boolean margin = useMargin;
        return b -> RewardBatch.toDataSet(b, margin);
    }

    @Override
    public RewardMetrics heldout(ComputationGraph training, List<PreferenceBatch> batches) {
        return RewardMetrics.of(training, batches, useMargin);
    }

    /** The reward model at the base's length: its trunk and scalar head, for scoring. */
    @Override
    public ComputationGraph checkpointGraph(ComputationGraph training) {
        ComputationGraph rm = TransformerLm.create(TransformerLm.rewardConfiguration(base.model(),
                SparkPretrainer.graphSeqLen(base.graph()), TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT), base.model());
        TransformerLm.copyParams(training, rm);
        return rm;
    }

    @Override
    public String divergenceHint() {
        return "Lower reward.learning-rate (now " + learningRate + ").";
    }
}
