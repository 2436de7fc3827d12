package org.rlsf.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.TransformerLm;

import java.io.Serializable;
import java.util.List;

/**
 * What {@link PairTrainer} optimises on the preference pairs: DPO of the policy ({@link DpoObjective}) or the
 * Bradley–Terry reward model ({@link RewardObjective}). Both train through the same plan, rounds, parameter averaging,
 * held-out metrics, epochs and resume; they differ in the graph, how a batch of pairs becomes a DataSet, what is
 * measured, and what an epoch's checkpoint holds.
 */
public interface PairObjective {
    /** For logs and errors ("DPO", "reward model"). */
    String name();

    /** The model training starts from; its tokenizer and configuration go into every checkpoint. */
    Checkpoint base();

    /** A training graph for batches planned at {@code seqLen} positions. */
    ComputationGraph trainingGraph(int seqLen, TransformerLm.Optimiser opt);

    /** Gives a fresh training graph its starting weights (the base's). */
    void initialise(ComputationGraph training);

    /** How a batch becomes a DataSet on a Spark worker. */
    Encoder encoder();

    HeldoutMetrics heldout(ComputationGraph training, List<PreferenceBatch> batches);

    /** The inference graph an epoch's checkpoint holds, with the training graph's weights. */
    ComputationGraph checkpointGraph(ComputationGraph training);

    /** What to change when training diverges. */
    String divergenceHint();

    /** A batch of pairs as the training graph's DataSet; shipped to Spark workers. */
    interface Encoder extends Serializable {
        DataSet encode(PreferenceBatch batch);
    }

    /** Prints the values of held-out metrics for a log line: {@code name value  name value ...}. */
    static String describe(HeldoutMetrics m) {
        StringBuilder b = new StringBuilder();
        m.values().forEach((k, v) -> b.append(b.length() == 0 ? "" : "  ").append(k).append(' ')
                .append(String.format(Math.abs(v) >= 100 ? "%.1f" : "%.4f", v)));
        return b.toString();
    }
}
