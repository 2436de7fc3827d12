package org.rlsf.train;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaRDDLike;
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
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.model.TransformerLm;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serial;
import java.io.Serializable;
import java.util.Collection;
import java.util.Iterator;

/**
 * dl4j-spark's parameter averaging with the workers' results summed in partition order. The library folds them with
 * {@code treeAggregate}, whose last step merges task results on the driver in the order the tasks finish: with three
 * or more workers a float sum in another order rounds differently, so the same data and seed gave other weights
 * from run to run. Here the round's results are kept (memory, then disk) once every worker has trained, read back
 * partition by partition ({@code toLocalIterator}: one worker's parameters on the driver at a time), summed in that
 * order and divided by their count, and the mean is applied as the library applies its own (parameters, updater
 * state, score, the step count advanced by one averaging period). Two workers' results come to the driver together
 * ({@code collect}, as the library's fold brings them): a + b = b + a, without the extra Spark jobs the ordered
 * read-back costs (one per worker and averaging round: PPO's 32 averaging rounds took ~20 s more with them on 2
 * workers).
 *
 * <p><b>The arrays travel packed</b> ({@link PackedArray}): each round's broadcast and each worker's result. ND4J's own
 * serialisation writes and reads them one element at a time.
 *
 * <p><b>Graphs with frozen parameters</b> (LoRA: {@link TransformerLm#hasLora}) travel light. The frozen values are
 * broadcast once per training (Spark keeps a broadcast on each executor); each averaging round then broadcasts only
 * the trainable values ({@link TrainableSlices}) and the optimiser state, which only they have, and each worker
 * returns only those. The driver averages them in partition order and writes them back into the whole vector, whose
 * frozen part never changes. One worker with averaging is still exactly a single-machine fit.
 *
 * <p><b>A round costs one Spark job, and its broadcast is dropped when it ends.</b> The library counts the round's
 * minibatches with a job of its own before training on them; {@link #fit} passes the count the caller already knows
 * (the same number, so the same splits). Each round's broadcast of parameters and optimiser state is destroyed once
 * the workers' results are averaged, instead of staying in the block managers until the driver's garbage collector
 * finds its handle unreachable: kept, they were copied by every young collection until then.
 */
public final class OrderedAveraging extends ParameterAveragingTrainingMaster {
    private static final Logger LOG = LoggerFactory.getLogger(OrderedAveraging.class);
    /** Adapter graphs: the whole parameter vector as training started (only its frozen part is read), broadcast once. */
    private transient Broadcast<PackedArray> frozen;
    private transient TrainableSlices slices;
    /** Bytes of parameters and optimiser state one worker received and returned in the last adapter round. */
    private transient long lastRoundBytesEachWay;
    /** The current round's broadcast of parameters and optimiser state (destroyed once the round is averaged). */
    private transient Broadcast<NetBroadcastTuple> roundBroadcast;
    /** The minibatch count of the next fit, when its caller knows it ({@link #fit}); -1 = count with a Spark job. */
    private transient long knownCount = -1;

    OrderedAveraging(ParameterAveragingTrainingMaster.Builder builder) {
        super(builder);
    }

    /**
     * {@code graph.fit(minibatches)} for a graph trained by an {@code OrderedAveraging}, whose caller knows how many
     * minibatches the RDD holds ({@code count}): the library's count job is skipped.
     */
    public static void fit(SparkComputationGraph graph, JavaRDD<DataSet> minibatches, long count) {
        if (graph.getTrainingMaster() instanceof OrderedAveraging tm) {
            tm.knownCount = count;
        }
        graph.fit(minibatches);
    }

    @Override
    protected <T, R extends JavaRDDLike<T, R>> long getTotalDataSetObjectCount(JavaRDDLike<T, R> rdd) {
        long n = knownCount;
        knownCount = -1;
        return n >= 0 ? n : super.getTotalDataSetObjectCount(rdd);
    }

    /** Bytes of trainable values and optimiser state sent to one worker in the last round (and returned by it). */
    public long lastRoundBytesEachWay() {
        return lastRoundBytesEachWay;
    }

    @Override
    public ParameterAveragingTrainingWorker getWorkerInstance(SparkComputationGraph graph) {
        ComputationGraph net = graph.getNetwork();
        INDArray state = net.getUpdater().getStateViewArray();
        WorkerConfiguration wc = new WorkerConfiguration(true, rddDataSetNumExamples, batchSizePerWorker,
                averagingFrequency, prefetchNumBatches, collectTrainingStats);
        if (!TransformerLm.hasLora(net)) {
            // as the library's own, with the arrays packed for the trip
            Broadcast<NetBroadcastTuple> tuple = graph.getSparkContext().broadcast(
                    new PackedTuple(net.getConfiguration(), net.params(), state));
            roundBroadcast = tuple;
            return new ParameterAveragingTrainingWorker(tuple, saveUpdater, wc, trainingHookList, listeners, getRouterProvider());
        }
        if (frozen == null) {
            slices = TrainableSlices.of(net);
            frozen = graph.getSparkContext().broadcast(new PackedArray(net.params().dup()));
            LOG.info(String.format("LoRA: %,d of %,d parameters train and travel; the frozen %,d are broadcast once "
                    + "(%,d bytes)", slices.total(), net.numParams(), net.numParams() - slices.total(), net.numParams() * 4));
        }
        INDArray trainable = slices.gather(net.params());
        lastRoundBytesEachWay = (trainable.length() + (state == null ? 0 : state.length())) * trainable.dataType().width();
        Broadcast<NetBroadcastTuple> tuple = graph.getSparkContext().broadcast(
                new AdapterTuple(net.getConfiguration(), trainable, state, frozen, slices));
        roundBroadcast = tuple;
        return new AdapterWorker(tuple, saveUpdater, wc, trainingHookList, listeners, getRouterProvider(), slices);
    }

    @Override
    protected void processResults(SparkDl4jMultiLayer network, SparkComputationGraph graph,
                                  JavaRDD<ParameterAveragingTrainingResult> results, int splitNum, int totalSplits) {
        if (graph == null) {
            super.processResults(network, graph, results, splitNum, totalSplits);
            return;
        }
        // the library's result class is not serialisable: each worker's values travel as a Part
        JavaRDD<Part> parts = results.map(r -> r == null ? new Part(null, null, 0)
                : new Part(r.getParameters(), r.getUpdaterState(), r.getScore()));
        ComputationGraph net = graph.getNetwork();
        boolean adapter = slices != null && TransformerLm.hasLora(net);
        Part mean;
        try {
            if (results.getNumPartitions() <= 2 || adapter) {
                // two workers' values on the driver at once, as the library's fold; an adapter's trainable values are small
                mean = mean(parts.collect().iterator());
            } else {
                JavaRDD<Part> kept = parts.persist(StorageLevel.MEMORY_AND_DISK());
                try {
                    kept.count();                        // every worker trains, in parallel
                    mean = mean(kept.toLocalIterator()); // then their results, in partition order
                } finally {
                    kept.unpersist(false);
                }
            }
        } finally {
            if (roundBroadcast != null) {
                roundBroadcast.destroy();   // the round is over (or failed): its values are never read again
                roundBroadcast = null;
            }
        }
        if (mean.parameters() == null) {
            return;   // no worker had data
        }
        if (adapter) {
            INDArray params = net.params().dup();
            slices.scatter(mean.parameters(), params);
            net.setParams(params);
        } else {
            net.setParams(mean.parameters());
        }
        if (mean.updaterState() != null) {
            net.getUpdater().setStateViewArray(mean.updaterState());
        }
        graph.setScore(mean.score());
        Nd4j.getExecutioner().commit();
        // as the library's own processing: the driver's step count advances by one averaging period
        net.getConfiguration().setIterationCount(net.getConfiguration().getIterationCount() + averagingFrequency);
    }

    /** One worker's result as it travels to the driver, its arrays packed ({@link PackedArray}). */
    static final class Part implements Serializable {
        @Serial
        private static final long serialVersionUID = 1L;
        private transient INDArray parameters;
        private transient INDArray updaterState;
        private final double score;

        Part(INDArray parameters, INDArray updaterState, double score) {
            this.parameters = parameters;
            this.updaterState = updaterState;
            this.score = score;
        }

        INDArray parameters() {
            return parameters;
        }

        INDArray updaterState() {
            return updaterState;
        }

        double score() {
            return score;
        }

        @Serial
        private void writeObject(ObjectOutputStream out) throws IOException {
            out.defaultWriteObject();
            PackedArray.write(out, parameters);
            PackedArray.write(out, updaterState);
        }

        @Serial
        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            parameters = PackedArray.read(in);
            updaterState = PackedArray.read(in);
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
     * A round's broadcast, the library's tuple with its arrays packed for the trip: it travels as a {@link Packed} and
     * arrives as the library's own tuple.
     */
    static final class PackedTuple extends NetBroadcastTuple {
        @Serial
        private static final long serialVersionUID = 1L;

        PackedTuple(ComputationGraphConfiguration conf, INDArray parameters, INDArray updaterState) {
            super(conf, parameters, updaterState);
        }

        @Serial
        private Object writeReplace() {
            return new Packed(getGraphConfiguration(), new PackedArray(getParameters()), new PackedArray(getUpdaterState()));
        }

        private record Packed(ComputationGraphConfiguration conf, PackedArray parameters, PackedArray updaterState)
                implements Serializable {
            @Serial
            private Object readResolve() {
                return new NetBroadcastTuple(conf, parameters.get(), updaterState.get());
            }
        }
    }

    /**
     * An averaging round's broadcast for an adapter graph: the trainable values and the optimiser state travel in it;
     * the whole vector is rebuilt on the executor from the once-broadcast frozen values.
     */
    static final class AdapterTuple extends NetBroadcastTuple {
        private final Broadcast<PackedArray> frozen;
        private final TrainableSlices slices;

        AdapterTuple(ComputationGraphConfiguration conf, INDArray trainable, INDArray updaterState,
                     Broadcast<PackedArray> frozen, TrainableSlices slices) {
            super(conf, trainable, updaterState);
            this.frozen = frozen;
            this.slices = slices;
        }

        @Override
        public INDArray getParameters() {
            INDArray whole = frozen.getValue().get().dup();   // the broadcast value is shared by the executor's tasks
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
