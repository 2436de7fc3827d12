package org.rlsf.train;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Iterator;
import java.util.List;

/**
 * dl4j-spark's parameter averaging with the workers' results summed in partition order. The library folds them with
 * {@code treeAggregate}, whose last step merges task results on the driver in the order the tasks finish: with three
 * or more workers a float sum in another order rounds differently, so the same data and seed gave other weights
 * from run to run. Here the round's results are kept (memory, then disk) once every worker has trained, read back
 * partition by partition ({@code toLocalIterator}: one worker's parameters on the driver at a time), summed in that
 * order and divided by their count; the library then applies the mean exactly as it applies its own (parameters,
 * updater state, score). With two workers the sum is the same either way (a + b = b + a), so two workers go through
 * the library's own fold, bit for bit as before and without the extra Spark jobs the ordered read-back costs (one
 * per worker and averaging round: PPO's 32 averaging rounds took ~20 s more with them on 2 workers).
 */
public final class OrderedAveraging extends ParameterAveragingTrainingMaster {
    OrderedAveraging(ParameterAveragingTrainingMaster.Builder builder) {
        super(builder);
    }

    @Override
    protected void processResults(SparkDl4jMultiLayer network, SparkComputationGraph graph,
                                  JavaRDD<ParameterAveragingTrainingResult> results, int splitNum, int totalSplits) {
        if (results.getNumPartitions() <= 2) {   // a + b = b + a: the library's own fold, without the extra jobs
            super.processResults(network, graph, results, splitNum, totalSplits);
            return;
        }
        Part mean;
        // the library's result class is not serialisable: each worker's parameters travel as a Part
        JavaRDD<Part> kept = results.map(r -> r == null ? new Part(null, null, 0)
                : new Part(r.getParameters(), r.getUpdaterState(), r.getScore())).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            kept.count();                        // every worker trains, in parallel
            mean = mean(kept.toLocalIterator()); // then their results, in partition order
        } finally {
            kept.unpersist(false);
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(results.context());
        // one task holds the mean; the library's aggregation over it applies it (its result class stays on the executor)
        super.processResults(network, graph, jsc.parallelize(List.of(mean), 1).map(Part::toResult), splitNum, totalSplits);
    }

    /** One worker's result as it travels to the driver. */
    record Part(INDArray parameters, INDArray updaterState, double score) implements java.io.Serializable {
        ParameterAveragingTrainingResult toResult() {
            return new ParameterAveragingTrainingResult(parameters, updaterState, score, new java.util.ArrayList<>(),
                    new java.util.ArrayList<>(), new java.util.ArrayList<>());   // the library appends to them
        }
    }

    /** The parts' mean parameters, updater state and score, summed in iteration order (parts without parameters are skipped). */
    static Part mean(Iterator<Part> parts) {
        INDArray params = null, updater = null;
        double score = 0;
        int n = 0;
        while (parts.hasNext()) {
            Part r = parts.next();
            if (r.parameters() == null) {
                continue;   // a worker that had no data
            }
            params = params == null ? r.parameters().dup() : params.addi(r.parameters());
            if (r.updaterState() != null) {
                updater = updater == null ? r.updaterState().dup() : updater.addi(r.updaterState());
            }
            score += r.score();
            n++;
        }
        if (n == 0) {
            return new Part(null, null, 0);
        }
        params.divi(n);
        if (updater != null) {
            updater.divi(n);
        }
        return new Part(params, updater, score / n);
    }
}
