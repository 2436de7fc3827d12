package org.rlsf.train;

import org.rlsf.model.TransformerLm;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.dataset.DataSet;
import org.rlsf.config.PretrainConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Next-token pretraining with dl4j-spark parameter averaging. Each averaging round is one
 * {@code SparkComputationGraph.fit} over exactly {@code workers × averagingFrequency} minibatches
 * (one partition per worker, no repartitioning), so the driver can report held-out loss, tokens/s
 * and an ETA after every round. Runs on whatever Spark master the context has.
 */
public final class SparkPretrainer {
    private static final Logger LOG = LoggerFactory.getLogger(SparkPretrainer.class);

    /** Called after each epoch with the graph and the epoch number (1-based), e.g. to checkpoint. */
    @FunctionalInterface
    public interface EpochEnd {
        void accept(ComputationGraph graph, int epoch, RoundMetrics last);
    }

    /** One averaging round's figures, as printed and written to metrics.jsonl. */
    public record RoundMetrics(int epoch, int round, int totalRounds, long step, long totalSteps, double heldoutLoss,
                               double learningRate, double tokensPerSecond, long tokensTrained, double elapsedSeconds,
                               double etaSeconds) {
    }

    /**
     * Optimiser steps as DL4J counts them (each averaging round advances the iteration count by the
     * averaging frequency, even a short last round); sizes the learning-rate schedule.
     */
    public static int totalSteps(int trainSequences, PretrainConfig cfg, int workers) {
        int batches = (trainSequences + cfg.batchSizePerWorker() - 1) / cfg.batchSizePerWorker();
        int roundSize = workers * cfg.averagingFrequency();
        return cfg.epochs() * ((batches + roundSize - 1) / roundSize) * cfg.averagingFrequency();
    }

    /**
     * Trains {@code graph} in place on the driver's copy of the data and returns it.
     *
     * @param train   encoded training sequences
     * @param heldout encoded held-out sequences (may be empty: loss is then NaN)
     * @param workers number of parallel workers (partitions per round)
     */
    public static ComputationGraph train(JavaSparkContext jsc, ComputationGraph graph, List<int[]> train,
                                         List<int[]> heldout, PretrainConfig cfg, int padId, int workers,
                                         java.util.function.Consumer<RoundMetrics> onRound, EpochEnd onEpoch) {
        if (train.isEmpty()) {
            throw new IllegalArgumentException("no training sequences");
        }
        int bs = cfg.batchSizePerWorker();
        IterationCarryOver carryOver = new IterationCarryOver();
        ParameterAveragingTrainingMaster tm = trainingMaster(workers, bs, cfg.averagingFrequency(), cfg.seed(), carryOver);
        SparkComputationGraph spark = new SparkComputationGraph(jsc, graph, tm);

        int roundSize = workers * cfg.averagingFrequency();
        int batchesPerEpoch = (train.size() + bs - 1) / bs;
        int roundsPerEpoch = (batchesPerEpoch + roundSize - 1) / roundSize;
        int totalRounds = roundsPerEpoch * cfg.epochs();
        long totalSteps = totalSteps(train.size(), cfg, workers);
        long start = System.nanoTime();
        long tokens = 0;
        int roundNo = 0;
        RoundMetrics last = null;
        for (int epoch = 1; epoch <= cfg.epochs(); epoch++) {
            List<TokenBatch> batches = batches(train, bs, cfg.seed() + epoch, graphSeqLen(graph), padId);
            for (int r = 0; r < roundsPerEpoch; r++) {
                List<TokenBatch> round = batches.subList(r * roundSize, Math.min(batches.size(), (r + 1) * roundSize));
                long t0 = System.nanoTime();
                int partitions = Math.min(workers, round.size());
                JavaRDD<DataSet> rdd = jsc.parallelize(new ArrayList<>(round), partitions).map(TokenBatch::toDataSet);
                carryOver.startIteration(graph.getConfiguration().getIterationCount());
                jsc.setJobGroup("rlsf-pretrain", "pretrain epoch " + epoch + " round " + (r + 1) + "/" + roundsPerEpoch);
                OrderedAveraging.fit(spark, rdd, round.size());
                graph = spark.getNetwork();
                long roundTokens = round.stream().mapToLong(TokenBatch::predictedTokens).sum();
                tokens += roundTokens;
                roundNo++;
                double seconds = (System.nanoTime() - t0) / 1e9;
                boolean evalNow = roundNo % cfg.evalEveryRounds() == 0 || r == roundsPerEpoch - 1;
                double loss = evalNow ? HeldoutLoss.of(graph, heldout, graphSeqLen(graph), padId, bs) : Double.NaN;
                double elapsed = (System.nanoTime() - start) / 1e9;
                long step = graph.getConfiguration().getIterationCount();
                double lr = TransformerLm.learningRate(graph, Math.max(0, (int) step - 1), epoch - 1);
                last = new RoundMetrics(epoch, roundNo, totalRounds, step, totalSteps, loss, lr,
                        roundTokens / Math.max(seconds, 1e-9), tokens, elapsed,
                        elapsed / roundNo * (totalRounds - roundNo));
                onRound.accept(last);
            }
            onEpoch.accept(graph, epoch, last);
        }
        LOG.debug("pretraining finished after {} rounds", roundNo);
        return graph;
    }

    /**
     * Parameter averaging as our trainers use it: one DataSet = one minibatch of {@code batchRows}
     * rows, kept whole (no repartitioning), optimiser state averaged with the parameters, and the
     * iteration count carried over between rounds.
     */
    static ParameterAveragingTrainingMaster trainingMaster(int workers, int batchRows, int averagingFrequency, long seed,
                                                           IterationCarryOver carryOver) {
        return new OrderedAveraging(new ParameterAveragingTrainingMaster.Builder(workers, batchRows)
                .batchSizePerWorker(batchRows)
                .averagingFrequency(averagingFrequency)
                .workerPrefetchNumBatches(0)
                .saveUpdater(true)
                .repartionData(Repartition.Never)
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .storageLevel(null)
                .rngSeed(seed)
                .trainingHooks(carryOver));
    }

    /** Seeded shuffle, then consecutive minibatches; the last may be smaller. */
    static List<TokenBatch> batches(List<int[]> sequences, int batchSize, long seed, int seqLen, int padId) {
        List<int[]> shuffled = new ArrayList<>(sequences);
        Collections.shuffle(shuffled, new Random(seed));
        List<TokenBatch> out = new ArrayList<>();
        for (int i = 0; i < shuffled.size(); i += batchSize) {
            List<int[]> part = shuffled.subList(i, Math.min(shuffled.size(), i + batchSize));
            out.add(new TokenBatch(part.toArray(new int[0][]), seqLen, padId));
        }
        return out;
    }

    static int graphSeqLen(ComputationGraph graph) {
        return TransformerLm.seqLen(graph);
    }
}
