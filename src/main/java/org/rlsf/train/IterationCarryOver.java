package org.rlsf.train;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.TrainingHook;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * Works around a dl4j-spark 1.0.0-M2 bug: each averaging round the worker builds its network from
 * {@code ComputationGraphConfiguration.clone()}, which drops the iteration count, so Adam's bias
 * correction and every iteration-based learning-rate schedule restart at 0 every round. Before a
 * worker's first update of a round this hook restores the driver's iteration count.
 * The driver sets {@link #startIteration} before each round; the hook travels to the workers
 * serialised with that round's tasks. {@code SparkPretrainerTest} (one worker = single machine)
 * fails without it.
 */
public final class IterationCarryOver implements TrainingHook {
    private int startIteration;

    void startIteration(int iteration) {
        this.startIteration = iteration;
    }

    private void restore(Model model) {
        if (model instanceof ComputationGraph g && g.getConfiguration().getIterationCount() < startIteration) {
            g.getConfiguration().setIterationCount(g.getConfiguration().getIterationCount() + startIteration);
        }
    }

    @Override
    public void preUpdate(DataSet minibatch, Model model) {
        restore(model);
    }

    @Override
    public void postUpdate(DataSet minibatch, Model model) {
    }

    @Override
    public void preUpdate(MultiDataSet minibatch, Model model) {
        restore(model);
    }

    @Override
    public void postUpdate(MultiDataSet minibatch, Model model) {
    }
}
