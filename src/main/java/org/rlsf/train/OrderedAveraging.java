package org.rlsf.train;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.core.storage.StatsStorageRouterProvider;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.spark.api.TrainingHook;
import org.deeplearning4j.spark.api.WorkerConfiguration;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.model.TransformerLm;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;

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
 *
 * <p><b>Graphs with frozen parameters</b> (LoRA: {@link TransformerLm#hasLora}) travel light. The frozen values are
 * broadcast once per training (Spark keeps a broadcast on each executor); each averaging round then broadcasts only
 * the trainable values ({@link TrainableSlices}) and the optimiser state, which only they have, and each worker
 * returns only those. The driver averages them in partition order and writes them back into the whole vector, whose
 * frozen part never changes. One worker with averaging is still exactly a single-machine fit.
 */
public final class OrderedAveraging extends ParameterAveragingTrainingMaster {
    private static final Logger LOG = LoggerFactory.getLogger(OrderedAveraging.class);
    /** Adapter graphs: the whole parameter vector as training started (only its frozen part is read), broadcast once. */
    private transient Broadcast<INDArray> frozen;
    private transient TrainableSlices slices;
    /** Bytes of parameters and optimiser state one worker received and returned in the last adapter round. */
    private transient long lastRoundBytesEachWay;

    OrderedAveraging(ParameterAveragingTrainingMaster.Builder builder) {
        super(builder);
    }

    /** Bytes of trainable values and optimiser state sent to one worker in the last round (and returned by it). */
    public long lastRoundBytesEachWay() {
        return lastRoundBytesEachWay;
    }

    @Override
    public ParameterAveragingTrainingWorker getWorkerInstance(SparkComputationGraph graph) {
        ComputationGraph net = graph.getNetwork();
        if (!TransformerLm.hasLora(net)) {
            return super.getWorkerInstance(graph);
        }
        if (frozen == null) {
            slices = TrainableSlices.of(net);
            frozen = graph.getSparkContext().broadcast(net.params().dup());
            LOG.info(String.format("LoRA: %,d of %,d parameters train and travel; the frozen %,d are broadcast once "
                    + "(%,d bytes)", slices.total(), net.numParams(), net.numParams() - slices.total(), net.numParams() * 4));
        }
        INDArray state = net.getUpdater().getStateViewArray();
        INDArray trainable = slices.gather(net.params());
        lastRoundBytesEachWay = (trainable.length() + (state == null ? 0 : state.length())) * trainable.dataType().width();
        Broadcast<NetBroadcastTuple> tuple = graph.getSparkContext().broadcast(
                new AdapterTuple(net.getConfiguration(), trainable, state, frozen, slices));
        WorkerConfiguration wc = new WorkerConfiguration(true, rddDataSetNumExamples, batchSizePerWorker,
                averagingFrequency, prefetchNumBatches, collectTrainingStats);
        return new AdapterWorker(tuple, saveUpdater, wc, trainingHookList, listeners, getRouterProvider(), slices);
    }

    @Override
    protected void processResults(SparkDl4jMultiLayer network, SparkComputationGraph graph,
                                  JavaRDD<ParameterAveragingTrainingResult> results, int splitNum, int totalSplits) {
        if (graph != null && slices != null && TransformerLm.hasLora(graph.getNetwork())) {
            // the workers' trainable values are small: all to the driver at once, in partition order
            Part mean = mean(results.map(r -> r == null ? new Part(null, null, 0)
                    : new Part(r.getParameters(), r.getUpdaterState(), r.getScore())).collect().iterator());
            if (mean.parameters() == null) {
                return;
            }
            ComputationGraph net = graph.getNetwork();
            INDArray params = net.params().dup();
            slices.scatter(mean.parameters(), params);
            net.setParams(params);
            if (mean.updaterState() != null) {
                net.getUpdater().setStateViewArray(mean.updaterState());
            }
            graph.setScore(mean.score());
            Nd4j.getExecutioner().commit();
            // as the library's own processing: the driver's step count advances by one averaging period
            net.getConfiguration().setIterationCount(net.getConfiguration().getIterationCount() + averagingFrequency);
            return;
        }
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

    /**
     * An averaging round's broadcast for an adapter graph: the trainable values and the optimiser state travel in it;
     * the whole vector is rebuilt on the executor from the once-broadcast frozen values.
     */
    static final class AdapterTuple extends NetBroadcastTuple {
        private final Broadcast<INDArray> frozen;
        private final TrainableSlices slices;

        AdapterTuple(ComputationGraphConfiguration conf, INDArray trainable, INDArray updaterState,
                     Broadcast<INDArray> frozen, TrainableSlices slices) {
            super(conf, trainable, updaterState);
            this.frozen = frozen;
            this.slices = slices;
        }

        @Override
        public INDArray getParameters() {
            INDArray whole = frozen.getValue().dup();   // the broadcast value is shared by the executor's tasks
            slices.scatter(super.getParameters(), whole);
            return whole;
        }
    }

    /** A worker that returns only the trainable values (and the optimiser state) of its network. */
    static final class AdapterWorker extends ParameterAveragingTrainingWorker {
        private final TrainableSlices slices;

        AdapterWorker(Broadcast<NetBroadcastTuple> broadcast, boolean saveUpdater, WorkerConfiguration configuration,
                      Collection<TrainingHook> hooks, Collection<TrainingListener> listeners,
                      StatsStorageRouterProvider router, TrainableSlices slices) {
            super(broadcast, saveUpdater, configuration, hooks, listeners, router);
            this.slices = slices;
        }

        @Override
        public ParameterAveragingTrainingResult getFinalResult(ComputationGraph network) {
            ParameterAveragingTrainingResult r = super.getFinalResult(network);
            return new ParameterAveragingTrainingResult(slices.gather(r.getParameters()), r.getUpdaterState(),
                    r.getScore(), r.getListenerMetaData(), r.getListenerStaticInfo(), r.getListenerUpdates());
        }
    }
}
