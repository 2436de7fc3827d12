package org.rlsf.train;

import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.rlsf.config.ComputeConfig;
import org.rlsf.config.TrainConfig;
import org.rlsf.io.FileStore;
import org.rlsf.model.TransformerLm;
import org.rlsf.report.Durations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The training loop on preference pairs with dl4j-spark parameter averaging, for any {@link PairObjective} (DPO, the
 * reward model): one {@code fit} per averaging round, held-out metrics at each epoch's end (and every
 * {@code train.heldout-every-rounds} rounds), a line per round in {@code metrics.jsonl}, an epoch saved as
 * {@link TrainerState} after each epoch. With length grouping there is a graph per round length; weights and optimiser
 * state move between them, so training is one run whatever the round lengths.
 */
public final class PairTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(PairTrainer.class);

    private PairTrainer() {
    }

    /**
     * Trains epochs 1..{@code train.epochs} (or, with {@code resumeFrom}, those after its last complete epoch) into
     * {@code out}. Returns the held-out metrics before the first step trained here.
     *
     * @param lineage what every epoch's checkpoint records (the stage adds epochs, steps and metrics)
     * @throws IllegalStateException when the loss or the weights stop being finite; nothing of that epoch is saved
     */
    public static HeldoutMetrics train(JavaSparkContext jsc, FileStore store, DpoPlan plan, TrainConfig cfg,
                                       ComputeConfig compute, PairObjective objective, Path basePath, Path out,
                                       Path resumeFrom, Map<String, Object> lineage) {
        // 1) the training graph: the base's weights under the objective's head, or a saved trainer state
        TransformerLm.Optimiser opt = new TransformerLm.Optimiser(cfg.learningRate(), cfg.warmupSteps(), plan.totalSteps(),
                cfg.minLrFraction(), cfg.weightDecay(), cfg.gradClip()).withSameDiffKernels(compute.sameDiffKernels());
        int startEpoch = 1;
        Path metrics = new Path(out, "metrics.jsonl");
        TrainerState.Resume resume = resumeFrom == null ? null : TrainerState.Resume.find(store, resumeFrom);
        ComputationGraph graph = objective.trainingGraph(plan.seqLen(), opt);
        if (resume != null) {
            resume.restoreInto(graph);
            startEpoch = resume.epoch() + 1;
            LOG.info("resuming from {} after epoch {} (step {})", resumeFrom, resume.epoch(),
                    graph.getConfiguration().getIterationCount());
            if (!store.qualify(resumeFrom).equals(store.qualify(out))) {
                TrainerState.copyEpochs(store, resumeFrom, out, resume.epoch());
            }
        } else {
            objective.initialise(graph);
            if (store.exists(metrics)) {
                store.delete(metrics);
            }
        }
        List<PreferenceBatch> heldoutBatches = plan.heldoutBatches(cfg);
        HeldoutMetrics initial = objective.heldout(graph, heldoutBatches);
        if (resume != null) {
            LOG.info(String.format("%s held-out at resume: %s (%d pairs)", objective.name(), PairObjective.describe(initial),
                    initial.pairs()));
        } else {
            LOG.info(String.format("%s held-out at start: %s (%d pairs; ln 2 = %.4f)", objective.name(),
                    PairObjective.describe(initial), initial.pairs(), Math.log(2)));
            store.appendLine(metrics, TrainerState.metricsLine(0, 0, 0, initial, Double.NaN, Double.NaN, Double.NaN, 0, "start"));
        }

        // 2) parameter averaging, one fit per averaging round; with length grouping, a graph per round length
        IterationCarryOver carryOver = new IterationCarryOver();
        PairObjective.Encoder encoder = objective.encoder();
        Map<Integer, SparkComputationGraph> byLength = new HashMap<>();
        byLength.put(plan.seqLen(), new SparkComputationGraph(jsc, graph, trainingMaster(plan.workers(), cfg, carryOver)));
        long start = System.nanoTime();
        int totalRounds = plan.roundsPerEpoch() * (cfg.epochs() - startEpoch + 1);
        int roundNo = 0;
        for (int epoch = startEpoch; epoch <= cfg.epochs(); epoch++) {
            List<DpoPlan.Round> rounds = plan.epoch(cfg, epoch);
            HeldoutMetrics m = null;
            for (int r = 0; r < rounds.size(); r++) {
                DpoPlan.Round round = rounds.get(r);
                SparkComputationGraph sparkGraph = byLength.computeIfAbsent(round.seqLen(), len -> new SparkComputationGraph(jsc,
                        objective.trainingGraph(len, opt), trainingMaster(plan.workers(), cfg, carryOver)));
                moveState(graph, sparkGraph.getNetwork());
                long rt = System.nanoTime();
                JavaRDD<DataSet> rdd = jsc.parallelize(new ArrayList<>(round.batches()), Math.min(plan.workers(), round.batches().size()))
                        .map(encoder::encode);
                carryOver.startIteration(sparkGraph.getNetwork().getConfiguration().getIterationCount());
                jsc.setJobGroup("rlsf-train", objective.name() + " epoch " + epoch + " round " + (r + 1) + "/" + rounds.size());
                OrderedAveraging.fit(sparkGraph, rdd, round.batches().size());
                graph = sparkGraph.getNetwork();
                roundNo++;
                double secs = (System.nanoTime() - rt) / 1e9;
                long tokens = round.batches().stream().mapToLong(PreferenceBatch::responseTokens).sum();
                double trainLoss = sparkGraph.getScore();
                long step = graph.getConfiguration().getIterationCount();
                double lr = TransformerLm.learningRate(graph, Math.max(0, (int) step - 1), epoch - 1);
                double elapsed = (System.nanoTime() - start) / 1e9;
                String eta = Durations.format(elapsed / roundNo * (totalRounds - roundNo));
                boolean evaluate = r == rounds.size() - 1 || (cfg.heldoutEveryRounds() > 0 && (r + 1) % cfg.heldoutEveryRounds() == 0);
                boolean finiteWeights = Double.isFinite(graph.params().sumNumber().doubleValue());
                if (evaluate) {
                    ComputationGraph full = byLength.get(plan.seqLen()).getNetwork();
                    moveState(graph, full);
                    graph = full;
                    m = objective.heldout(graph, heldoutBatches);
                }
                if (!finiteWeights || !Double.isFinite(trainLoss) || (evaluate && !m.finite())) {
                    LOG.debug("non-finite: train loss {} metrics {} weights finite {}", trainLoss, m, finiteWeights);
                    throw new IllegalStateException(String.format("training diverged at epoch %d round %d (step %d): the "
                                    + "loss or the weights are not finite. Nothing of this epoch was saved; the last good "
                                    + "checkpoint is %s. %s", epoch, r + 1, step,
                            epoch > 1 ? new Path(TrainerState.epochDir(out, epoch - 1), "checkpoint") : basePath,
                            objective.divergenceHint()));
                }
                double tokensPerS = tokens / Math.max(secs, 1e-9);
                if (evaluate) {
                    LOG.info(String.format("%s epoch %d/%d  round %d/%d  step %d  train loss %.4f  held-out: %s  lr %.2e  "
                                    + "length %d  tokens/s %,.0f  eta %s", objective.name(), epoch, cfg.epochs(), r + 1,
                            rounds.size(), step, trainLoss, PairObjective.describe(m), lr, round.seqLen(), tokensPerS, eta));
                } else {
                    LOG.info(String.format("%s epoch %d/%d  round %d/%d  step %d  train loss %.4f  lr %.2e  length %d  "
                                    + "tokens/s %,.0f  eta %s", objective.name(), epoch, cfg.epochs(), r + 1, rounds.size(), step,
                            trainLoss, lr, round.seqLen(), tokensPerS, eta));
                }
                store.appendLine(metrics, TrainerState.metricsLine(epoch, r + 1, step, evaluate ? m : null, trainLoss, lr,
                        tokensPerS, elapsed, "round"));
            }
            TrainerState.saveEpoch(store, out, epoch, graph, objective, lineage, m);
        }
        return initial;
    }

    /** Parameter averaging on pairs: minibatches of whole pairs (2 rows each). */
    static ParameterAveragingTrainingMaster trainingMaster(int workers, TrainConfig cfg, IterationCarryOver carryOver) {
        return SparkPretrainer.trainingMaster(workers, 2 * cfg.pairsPerBatch(), cfg.averagingFrequency(), cfg.seed(), carryOver);
    }

    /** Makes {@code to} continue from {@code from}: weights, optimiser state and step counters (same layout). */
    static void moveState(ComputationGraph from, ComputationGraph to) {
        if (from == to) {
            return;
        }
        to.setParams(from.params());
        INDArray state = from.getUpdater(true).getStateViewArray();
        if (state != null) {
            to.getUpdater(true).getStateViewArray().assign(state);
        }
        to.getConfiguration().setIterationCount(from.getConfiguration().getIterationCount());
        to.getConfiguration().setEpochCount(from.getConfiguration().getEpochCount());
    }
}
