package org.rlsf.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.rlsf.config.CodeVersion;
import org.rlsf.config.RlsfConfig;
import org.rlsf.config.TrainConfig;
import org.rlsf.io.FileStore;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.ComputeSettings;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.graph.PositionEmbedding;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;

import static org.apache.spark.sql.functions.col;

/**
 * The preference-training stage (rlsf train): pairs table + frozen base → DPO with dl4j-spark
 * parameter averaging → checkpoints. The base is both the starting policy and the reference (its
 * log-probs come from the pairs table). Output layout:
 * <pre>
 *   OUT/config.conf                      resolved configuration
 *   OUT/metrics.jsonl                    one line per averaging round (TRL's metric names) + epoch ends
 *   OUT/epochs/epoch-N/checkpoint/       the policy after epoch N (an LM checkpoint)
 *   OUT/epochs/epoch-N/trainer-state.bin parameters + optimiser state, for --resume-from
 *   OUT/checkpoint/                      the selected epoch's policy, with lineage
 * </pre>
 */
public final class DpoStage {
    private static final Logger LOG = LoggerFactory.getLogger(DpoStage.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String STATE = "trainer-state.bin";
    static final List<String> PAIR_COLUMNS = List.of("pair_id", "run_id", "prompt_id", "prompt_tokens", "chosen_tokens",
            "rejected_tokens", "chosen_ref_logprob", "rejected_ref_logprob", "weights_sha256", "chosen_branch",
            "rejected_branch");

    private DpoStage() {
    }

    public record Result(Path checkpoint, String weightsSha256, int trainPairs, int heldoutPairs, int selectedEpoch,
                         PreferenceMetrics initial, PreferenceMetrics selected, double seconds) {
    }

    public static Result run(SparkSession spark, FileStore store, RlsfConfig config, Path pairsPath, String runId,
                             Path basePath, Path out, Path resumeFrom) {
        long t0 = System.nanoTime();
        TrainConfig cfg = config.train();
        store.mkdirs(out);
        store.writeText(new Path(out, "config.conf"), config.render());

        // 1) the base (policy start + reference) and the pairs made from it
        Checkpoint base = Checkpoint.load(store, basePath);
        List<PreferenceBatch.Example> all = readPairs(spark, store, pairsPath, runId, base.weightsSha256());
        List<PreferenceBatch.Example> train = new ArrayList<>(), heldout = new ArrayList<>();
        for (PreferenceBatch.Example e : all) {
            (isHeldout(e, cfg) ? heldout : train).add(e);
        }
        if (heldout.size() > cfg.heldoutMaxPairs()) {
            heldout = new ArrayList<>(heldout.subList(0, cfg.heldoutMaxPairs()));
        }
        if (train.isEmpty()) {
            throw new IllegalArgumentException("no training pairs in " + pairsPath + " (" + all.size()
                    + " pairs, all held out); lower train.heldout-fraction or make more pairs");
        }
        int longest = all.stream().mapToInt(PreferenceBatch.Example::length).max().orElseThrow();
        if (longest > base.model().contextLength()) {
            throw new IllegalArgumentException("the longest pair needs " + longest + " positions, more than the model's context "
                    + base.model().contextLength());
        }
        // train.length-multiple (0 = by the natives in use): with oneDNN a DPO step measured 1.4x faster at 96
        // positions than at 95, with the default natives ~10% slower, so auto rounds up only for oneDNN
        int multiple = cfg.lengthMultiple() > 0 ? cfg.lengthMultiple() : org.rlsf.config.NativeVariant.inUse().isEmpty() ? 1 : 8;
        int seqLen = trainingLength(longest, base.model().contextLength(), multiple);
        int workers = cfg.workers() > 0 ? cfg.workers() : spark.sparkContext().defaultParallelism();
        int batchesPerEpoch = (train.size() + cfg.pairsPerBatch() - 1) / cfg.pairsPerBatch();
        int roundSize = workers * cfg.averagingFrequency();
        int roundsPerEpoch = (batchesPerEpoch + roundSize - 1) / roundSize;
        int totalSteps = cfg.epochs() * roundsPerEpoch * cfg.averagingFrequency();
        int bosId = base.tokenizer().bosId(), padId = base.tokenizer().padId();
        List<PreferenceBatch> heldoutBatches = batches(heldout, cfg.pairsPerBatch(), -1, seqLen, bosId, padId);
        LOG.info("{} pairs ({} train, {} held out, by prompt), length {}, {} workers x {} pairs per batch, "
                        + "{} rounds per epoch, {} epochs, {} (beta {}, eps {}), lr {}", all.size(), train.size(), heldout.size(),
                seqLen, workers, cfg.pairsPerBatch(), roundsPerEpoch, cfg.epochs(), cfg.loss(), cfg.beta(),
                cfg.labelSmoothing(), cfg.learningRate());

        // 2) the training graph: the base's weights under the preference head, or a saved trainer state
        TransformerLm.Optimiser opt = new TransformerLm.Optimiser(cfg.learningRate(), cfg.warmupSteps(), totalSteps,
                cfg.minLrFraction(), cfg.weightDecay(), cfg.gradClip()).withSameDiffKernels(ComputeSettings.sameDiffKernels());
        int startEpoch = 1;
        ComputationGraph graph;
        Path metrics = new Path(out, "metrics.jsonl");
        Resume resume = resumeFrom == null ? null : Resume.find(store, resumeFrom);
        graph = TransformerLm.create(TransformerLm.preferenceConfiguration(base.model(), seqLen, opt, DataType.FLOAT,
                cfg.beta(), cfg.labelSmoothing(), cfg.loss()), base.model());
        if (resume != null) {
            resume.restoreInto(graph);
            startEpoch = resume.epoch() + 1;
            LOG.info("resuming from {} after epoch {} (step {})", resumeFrom, resume.epoch(),
                    graph.getConfiguration().getIterationCount());
            if (!store.qualify(resumeFrom).equals(store.qualify(out))) {
                copyEpochs(store, resumeFrom, out, resume.epoch());
            }
        } else {
            TransformerLm.copyParams(base.graph(), graph);
            if (store.exists(metrics)) {
                store.delete(metrics);
            }
        }
        PreferenceMetrics initial = PreferenceMetrics.of(graph, heldoutBatches, cfg);
        if (resume != null) {
            LOG.info(String.format("held-out at resume: loss %.4f, %d pairs", initial.loss(), initial.pairs()));
        } else {
            LOG.info(String.format("held-out at start: loss %.4f (ln 2 = %.4f: policy = reference), %d pairs",
                    initial.loss(), Math.log(2), initial.pairs()));
            store.appendLine(metrics, json(0, 0, 0, initial, Double.NaN, Double.NaN, Double.NaN, 0, "start"));
        }

        // 3) parameter-averaged DPO, one fit per averaging round; with length grouping, a graph per round length
        //    (weights and optimiser state move between them, so training is one run whatever the round lengths)
        IterationCarryOver carryOver = new IterationCarryOver();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Map<Integer, SparkComputationGraph> byLength = new HashMap<>();
        byLength.put(seqLen, new SparkComputationGraph(jsc, graph, trainingMaster(workers, cfg, carryOver)));
        long start = System.nanoTime();
        int totalRounds = roundsPerEpoch * (cfg.epochs() - startEpoch + 1);
        int roundNo = 0;
        Map<String, Object> lineage = lineage(config, store, pairsPath, runId, basePath, base, all.size(), train.size(), heldout.size());
        for (int epoch = startEpoch; epoch <= cfg.epochs(); epoch++) {
            List<Round> rounds = rounds(train, cfg, workers, cfg.seed() + epoch, seqLen, bosId, padId);
            PreferenceMetrics m = null;
            for (int r = 0; r < rounds.size(); r++) {
                Round round = rounds.get(r);
                SparkComputationGraph sparkGraph = byLength.computeIfAbsent(round.seqLen(), len -> new SparkComputationGraph(jsc,
                        TransformerLm.create(TransformerLm.preferenceConfiguration(base.model(), len, opt, DataType.FLOAT,
                                cfg.beta(), cfg.labelSmoothing(), cfg.loss()), base.model()),
                        trainingMaster(workers, cfg, carryOver)));
                moveState(graph, sparkGraph.getNetwork());
                long rt = System.nanoTime();
                JavaRDD<DataSet> rdd = jsc.parallelize(new ArrayList<>(round.batches()), Math.min(workers, round.batches().size()))
                        .map(PreferenceBatch::toDataSet);
                carryOver.startIteration(sparkGraph.getNetwork().getConfiguration().getIterationCount());
                jsc.setJobGroup("rlsf-train", "DPO epoch " + epoch + " round " + (r + 1) + "/" + rounds.size());
                sparkGraph.fit(rdd);
                graph = sparkGraph.getNetwork();
                roundNo++;
                double secs = (System.nanoTime() - rt) / 1e9;
                long tokens = round.batches().stream().mapToLong(PreferenceBatch::responseTokens).sum();
                double trainLoss = sparkGraph.getScore();
                long step = graph.getConfiguration().getIterationCount();
                double lr = graph.getLayer(TransformerLm.POS).conf().getLayer().getUpdaterByParam(PositionEmbedding.WPE)
                        .getLearningRate(Math.max(0, (int) step - 1), epoch - 1);
                double elapsed = (System.nanoTime() - start) / 1e9;
                String eta = PretrainStage.duration(elapsed / roundNo * (totalRounds - roundNo));
                boolean evaluate = r == rounds.size() - 1 || (cfg.heldoutEveryRounds() > 0 && (r + 1) % cfg.heldoutEveryRounds() == 0);
                boolean finiteWeights = Double.isFinite(graph.params().sumNumber().doubleValue());
                if (evaluate) {
                    ComputationGraph full = byLength.get(seqLen).getNetwork();
                    moveState(graph, full);
                    graph = full;
                    m = PreferenceMetrics.of(graph, heldoutBatches, cfg);
                }
                if (!finiteWeights || !Double.isFinite(trainLoss) || (evaluate && !m.finite())) {
                    LOG.debug("non-finite: train loss {} metrics {} weights finite {}", trainLoss, m, finiteWeights);
                    throw new IllegalStateException(String.format("training diverged at epoch %d round %d (step %d): the "
                                    + "loss or the weights are not finite. Nothing of this epoch was saved; the last good "
                                    + "checkpoint is %s. Lower train.learning-rate (now %s) or train.beta.", epoch, r + 1, step,
                            epoch > 1 ? new Path(epochDir(out, epoch - 1), "checkpoint") : basePath, cfg.learningRate()));
                }
                if (evaluate) {
                    LOG.info(String.format("epoch %d/%d  round %d/%d  step %d  train loss %.4f  held-out: loss %.4f  "
                                    + "rewards/chosen %+.3f  rewards/rejected %+.3f  margins %+.3f  accuracies %.2f  logps/chosen %.2f  "
                                    + "logps/rejected %.2f  lr %.2e  length %d  tokens/s %,.0f  eta %s",
                            epoch, cfg.epochs(), r + 1, rounds.size(), step, trainLoss, m.loss(), m.rewardsChosen(),
                            m.rewardsRejected(), m.margins(), m.accuracy(), m.logpsChosen(), m.logpsRejected(), lr,
                            round.seqLen(), tokens / Math.max(secs, 1e-9), eta));
                } else {
                    LOG.info(String.format("epoch %d/%d  round %d/%d  step %d  train loss %.4f  lr %.2e  length %d  tokens/s %,.0f  eta %s",
                            epoch, cfg.epochs(), r + 1, rounds.size(), step, trainLoss, lr, round.seqLen(),
                            tokens / Math.max(secs, 1e-9), eta));
                }
                store.appendLine(metrics, json(epoch, r + 1, step, evaluate ? m : null, trainLoss, lr,
                        tokens / Math.max(secs, 1e-9), elapsed, "round"));
            }
            saveEpoch(store, out, epoch, graph, base, lineage, m);
        }

        // 4) the final checkpoint: the selected epoch's policy
        int selected = select(store, out, cfg);
        Checkpoint chosen = Checkpoint.load(store, new Path(epochDir(out, selected), "checkpoint"));
        Map<String, Object> finalLineage = new LinkedHashMap<>(chosen.lineage());
        finalLineage.put("selected_epoch", selected);
        finalLineage.put("selection", cfg.select());
        Path ckpt = new Path(out, "checkpoint");
        String hash = Checkpoint.save(store, ckpt, chosen.graph(), chosen.tokenizer(), chosen.model(), finalLineage);
        PreferenceMetrics selectedMetrics = readEpochMetrics(store, out, selected);
        LOG.info("final checkpoint {} = epoch {} ({}), weights sha256 {}", ckpt, selected, cfg.select(), hash.substring(0, 12));
        return new Result(ckpt, hash, train.size(), heldout.size(), selected, initial, selectedMetrics, (System.nanoTime() - t0) / 1e9);
    }

    /** Parameter averaging as DPO uses it: minibatches of whole pairs (2 rows each). */
    static ParameterAveragingTrainingMaster trainingMaster(int workers, TrainConfig cfg, IterationCarryOver carryOver) {
        return SparkPretrainer.trainingMaster(workers, 2 * cfg.pairsPerBatch(), cfg.averagingFrequency(), cfg.seed(), carryOver);
    }

    static boolean isHeldout(PreferenceBatch.Example e, TrainConfig cfg) {
        if (cfg.heldoutFraction() == 0) {
            return false;
        }
        CRC32 crc = new CRC32();
        crc.update((cfg.seed() + "/" + e.promptId()).getBytes(StandardCharsets.UTF_8));
        return (crc.getValue() % 10_000) < cfg.heldoutFraction() * 10_000;
    }

    static List<PreferenceBatch.Example> readPairs(SparkSession spark, FileStore store, Path pairsPath, String runId,
                                                   String baseWeights) {
        if (!store.exists(pairsPath)) {
            throw new IllegalArgumentException("pairs table " + pairsPath + " does not exist");
        }
        Dataset<Row> df;
        try {
            df = spark.read().parquet(pairsPath.toString());
        } catch (Exception e) {   // Spark's AnalysisException is checked but undeclared
            if (e instanceof org.apache.spark.sql.AnalysisException a) {
                throw new IllegalArgumentException(pairsPath + " has no pair rows (" + a.getSimpleMessage()
                        + "): nothing to train on. Were any traces at or above pairs.threshold?", e);
            }
            throw e;
        }
        List<String> missing = PAIR_COLUMNS.stream().filter(c -> !List.of(df.schema().fieldNames()).contains(c)).toList();
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(pairsPath + " is not a pairs table: missing columns " + missing);
        }
        Dataset<Row> sel = runId == null ? df : df.filter(col("run_id").equalTo(runId));
        List<Row> rows = sel.select(PAIR_COLUMNS.stream().map(org.apache.spark.sql.functions::col)
                .toArray(org.apache.spark.sql.Column[]::new))
                // an order that does not depend on the run id (pair_id hashes it in): the same pairs under another
                // run id train in the same order, so to the same weights
                .orderBy("prompt_id", "chosen_branch", "rejected_branch", "pair_id").collectAsList();
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(pairsPath + " has no pairs" + (runId == null ? "" : " for run " + runId)
                    + ": nothing to train on (were any traces at or above pairs.threshold?)");
        }
        List<PreferenceBatch.Example> out = new ArrayList<>(rows.size());
        for (Row r : rows) {
            String w = r.getString(8);
            if (!baseWeights.equals(w)) {
                throw new IllegalArgumentException("pair " + r.getString(0) + " in " + pairsPath + " was generated by model weights "
                        + w + ", not by the base " + baseWeights + ": its reference log-probs do not belong to this base");
            }
            out.add(new PreferenceBatch.Example(r.getString(0), r.getString(2), ints(r.getList(3)), ints(r.getList(4)),
                    ints(r.getList(5)), r.getDouble(6), r.getDouble(7)));
        }
        return out;
    }

    static List<PreferenceBatch> batches(List<PreferenceBatch.Example> examples, int pairsPerBatch, long seed, int seqLen,
                                         int bosId, int padId) {
        List<PreferenceBatch.Example> order = new ArrayList<>(examples);
        if (seed >= 0) {
            Collections.shuffle(order, new Random(seed));
        }
        List<PreferenceBatch> out = new ArrayList<>();
        for (int i = 0; i < order.size(); i += pairsPerBatch) {
            out.add(new PreferenceBatch(new ArrayList<>(order.subList(i, Math.min(order.size(), i + pairsPerBatch))),
                    seqLen, bosId, padId));
        }
        return out;
    }

    /** The longest pair's positions rounded up to a multiple, within the model's context. */
    static int trainingLength(int longest, int context, int multiple) {
        return Math.min(context, (longest + multiple - 1) / multiple * multiple);
    }

    /** One averaging round: its minibatches, all padded to the round's length. */
    record Round(List<PreferenceBatch> batches, int seqLen) {
    }

    /**
     * An epoch's averaging rounds: the pairs shuffled with {@code seed}, cut into rounds of workers ×
     * averaging-frequency minibatches. With {@code train.length-bucket} n > 0, each window of 4 rounds' worth of
     * pairs is first sorted by length (so a round holds pairs of similar length, padded to its longest rounded up
     * to a multiple of n, at most {@code maxLen}), and the rounds are then shuffled; only the last window can be
     * short, so the number of rounds is the same as without grouping. With n = 0, every batch is {@code maxLen} long.
     */
    static List<Round> rounds(List<PreferenceBatch.Example> examples, TrainConfig cfg, int workers, long seed, int maxLen,
                              int bosId, int padId) {
        List<PreferenceBatch.Example> order = new ArrayList<>(examples);
        Collections.shuffle(order, new Random(seed));
        int bucket = cfg.lengthBucket();
        int pairsPerRound = workers * cfg.averagingFrequency() * cfg.pairsPerBatch();
        int window = bucket > 0 ? 4 * pairsPerRound : Math.max(1, order.size());
        List<List<PreferenceBatch.Example>> groups = new ArrayList<>();
        for (int w = 0; w < order.size(); w += window) {
            List<PreferenceBatch.Example> win = new ArrayList<>(order.subList(w, Math.min(order.size(), w + window)));
            if (bucket > 0) {
                win.sort(java.util.Comparator.comparingInt(PreferenceBatch.Example::length));
            }
            for (int i = 0; i < win.size(); i += pairsPerRound) {
                groups.add(win.subList(i, Math.min(win.size(), i + pairsPerRound)));
            }
        }
        if (bucket > 0) {
            Collections.shuffle(groups, new Random(seed ^ 0x5DEECE66DL));
        }
        List<Round> out = new ArrayList<>(groups.size());
        for (List<PreferenceBatch.Example> g : groups) {
            int len = maxLen;
            if (bucket > 0) {
                int longest = g.stream().mapToInt(PreferenceBatch.Example::length).max().orElseThrow();
                len = Math.min(maxLen, (longest + bucket - 1) / bucket * bucket);
            }
            out.add(new Round(batches(g, cfg.pairsPerBatch(), -1, len, bosId, padId), len));
        }
        return out;
    }

    /** Makes {@code to} continue from {@code from}: weights, optimiser state and step counters (same layout). */
    static void moveState(ComputationGraph from, ComputationGraph to) {
        if (from == to) {
            return;
        }
        to.setParams(from.params());
        org.nd4j.linalg.api.ndarray.INDArray state = from.getUpdater(true).getStateViewArray();
        if (state != null) {
            to.getUpdater(true).getStateViewArray().assign(state);
        }
        to.getConfiguration().setIterationCount(from.getConfiguration().getIterationCount());
        to.getConfiguration().setEpochCount(from.getConfiguration().getEpochCount());
    }

    static Path epochDir(Path out, int epoch) {
        return new Path(new Path(out, "epochs"), "epoch-" + epoch);
    }

    /** Trainer state first, the checkpoint (committed atomically) last: a complete checkpoint means a resumable epoch. */
    private static void saveEpoch(FileStore store, Path out, int epoch, ComputationGraph graph, Checkpoint base,
                                  Map<String, Object> lineage, PreferenceMetrics m) {
        Path dir = epochDir(out, epoch);
        try {
            // raw arrays, not ModelSerializer: in M2.1 a graph restored with its updater trains to NaN
            // (TrainJobTest's resume check pins this), while a rebuilt graph given the same arrays is exact
            try (var o = new java.io.DataOutputStream(store.create(new Path(dir, STATE)))) {
                org.nd4j.linalg.factory.Nd4j.write(graph.params(), o);
                org.nd4j.linalg.factory.Nd4j.write(graph.getUpdater(true).getStateViewArray(), o);
            }
            Map<String, Object> state = new LinkedHashMap<>();
            state.put("epoch", epoch);
            state.put("step", graph.getConfiguration().getIterationCount());
            state.put("heldout", metricsMap(m));
            store.writeText(new Path(dir, "trainer.json"), JSON.writeValueAsString(state));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the trainer state of epoch " + epoch + ": " + e.getMessage(), e);
        }
        ComputationGraph lm = TransformerLm.create(base.model(), SparkPretrainer.graphSeqLen(base.graph()),
                TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT);
        TransformerLm.copyParams(graph, lm);
        Map<String, Object> l = new LinkedHashMap<>(lineage);
        l.put("epochs_completed", epoch);
        l.put("steps", graph.getConfiguration().getIterationCount());
        l.put("heldout", metricsMap(m));
        l.put("created_at", Instant.now().toString());
        String hash = Checkpoint.save(store, new Path(dir, "checkpoint"), lm, base.tokenizer(), base.model(), l);
        LOG.info("epoch {} saved to {} (weights sha256 {})", epoch, dir, hash.substring(0, 12));
    }

    private static int select(FileStore store, Path out, TrainConfig cfg) {
        int best = -1;
        double bestLoss = Double.POSITIVE_INFINITY;
        for (int e = 1; e <= cfg.epochs(); e++) {
            if (cfg.select().equals("last")) {
                best = e;
                continue;
            }
            PreferenceMetrics m = readEpochMetrics(store, out, e);
            double loss = m == null || !Double.isFinite(m.loss()) ? Double.POSITIVE_INFINITY : m.loss();
            if (best < 0 || loss < bestLoss) {
                best = e;
                bestLoss = loss;
            }
        }
        return best;
    }

    private static PreferenceMetrics readEpochMetrics(FileStore store, Path out, int epoch) {
        try {
            Map<?, ?> state = JSON.readValue(store.readText(new Path(epochDir(out, epoch), "trainer.json")), Map.class);
            Map<?, ?> h = (Map<?, ?>) state.get("heldout");
            if (h == null || h.get("loss") == null) {
                return null;
            }
            return new PreferenceMetrics(((Number) h.get("pairs")).intValue(), num(h.get("loss")), num(h.get("rewards/chosen")),
                    num(h.get("rewards/rejected")), num(h.get("rewards/margins")), num(h.get("rewards/accuracies")),
                    num(h.get("logps/chosen")), num(h.get("logps/rejected")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static double num(Object o) {
        return o == null ? Double.NaN : ((Number) o).doubleValue();
    }

    /** A resumable point: the latest epoch with a complete checkpoint and its trainer state. */
    record Resume(int epoch, long step, org.nd4j.linalg.api.ndarray.INDArray params,
                  org.nd4j.linalg.api.ndarray.INDArray updater) {
        static Resume find(FileStore store, Path dir) {
            Path epochs = new Path(dir, "epochs");
            List<Integer> done = new ArrayList<>();
            if (store.exists(epochs)) {
                for (Path p : store.list(epochs)) {
                    if (p.getName().matches("epoch-\\d+")) {
                        done.add(Integer.parseInt(p.getName().substring("epoch-".length())));
                    }
                }
            }
            done.sort(Collections.reverseOrder());
            for (int e : done) {
                Path ed = epochDir(dir, e);
                if (store.exists(new Path(new Path(ed, "checkpoint"), "checkpoint.json"))
                        && store.exists(new Path(ed, STATE)) && store.exists(new Path(ed, "trainer.json"))) {
                    try (var in = new java.io.DataInputStream(new ByteArrayInputStream(store.readBytes(new Path(ed, STATE))))) {
                        Map<?, ?> state = JSON.readValue(store.readText(new Path(ed, "trainer.json")), Map.class);
                        return new Resume(e, ((Number) state.get("step")).longValue(),
                                org.nd4j.linalg.factory.Nd4j.read(in), org.nd4j.linalg.factory.Nd4j.read(in));
                    } catch (IOException ex) {
                        throw new IllegalArgumentException("cannot read the trainer state in " + ed + ": " + ex.getMessage(), ex);
                    }
                }
            }
            throw new IllegalArgumentException("nothing to resume in " + dir + ": no epochs/epoch-N with a complete checkpoint "
                    + "and " + STATE);
        }

        /** Restores into a freshly built training graph of the same configuration. */
        void restoreInto(ComputationGraph graph) {
            if (graph.params().length() != params.length()) {
                throw new IllegalArgumentException("the trainer state has " + params.length() + " parameters; this configuration "
                        + "builds " + graph.params().length() + ": resume with the configuration of the interrupted run");
            }
            graph.setParams(params.castTo(graph.params().dataType()));
            graph.getUpdater(true).getStateViewArray().assign(updater);
            graph.getConfiguration().setIterationCount((int) step);
            graph.getConfiguration().setEpochCount(epoch);
        }
    }

    private static void copyEpochs(FileStore store, Path from, Path to, int upTo) {
        for (int e = 1; e <= upTo; e++) {
            Path src = epochDir(from, e);
            for (Path f : List.of(new Path(src, STATE), new Path(src, "trainer.json"))) {
                try (var o = store.create(new Path(epochDir(to, e), f.getName()))) {
                    o.write(store.readBytes(f));
                } catch (IOException ex) {
                    throw new UncheckedIOException(ex);
                }
            }
            Checkpoint c = Checkpoint.load(store, new Path(src, "checkpoint"));
            Checkpoint.save(store, new Path(epochDir(to, e), "checkpoint"), c.graph(), c.tokenizer(), c.model(), c.lineage());
        }
        Path metrics = new Path(from, "metrics.jsonl");
        if (store.exists(metrics)) {
            store.writeText(new Path(to, "metrics.jsonl"), store.readText(metrics));
        }
    }

    private static Map<String, Object> lineage(RlsfConfig config, FileStore store, Path pairs, String runId, Path basePath,
                                               Checkpoint base, int pairsTotal, int trainPairs, int heldoutPairs) {
        TrainConfig cfg = config.train();
        Map<String, Object> l = new LinkedHashMap<>();
        l.put("stage", "train");
        l.put("method", cfg.loss());
        l.put("pairs", store.qualify(pairs));
        l.put("run_id", runId);
        l.put("pairs_total", pairsTotal);
        l.put("train_pairs", trainPairs);
        l.put("heldout_pairs", heldoutPairs);
        l.put("base", store.qualify(basePath));
        l.put("base_weights_sha256", base.weightsSha256());
        l.put("beta", cfg.beta());
        l.put("label_smoothing", cfg.labelSmoothing());
        l.put("learning_rate", cfg.learningRate());
        l.put("epochs", cfg.epochs());
        l.put("seed", cfg.seed());
        l.put("config_hash", config.hash());
        l.put("code_version", CodeVersion.get());
        return l;
    }

    static Map<String, Object> metricsMap(PreferenceMetrics m) {
        Map<String, Object> row = new LinkedHashMap<>();
        if (m == null) {
            return row;
        }
        row.put("pairs", m.pairs());
        row.put("loss", fin(m.loss()));
        row.put("rewards/chosen", fin(m.rewardsChosen()));
        row.put("rewards/rejected", fin(m.rewardsRejected()));
        row.put("rewards/margins", fin(m.margins()));
        row.put("rewards/accuracies", fin(m.accuracy()));
        row.put("logps/chosen", fin(m.logpsChosen()));
        row.put("logps/rejected", fin(m.logpsRejected()));
        return row;
    }

    private static Double fin(double x) {
        return Double.isFinite(x) ? x : null;
    }

    private static String json(int epoch, int round, long step, PreferenceMetrics m, double trainLoss, double lr,
                               double tokensPerS, double elapsed, String kind) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("kind", kind);
        row.put("epoch", epoch);
        row.put("round", round);
        row.put("step", step);
        if (m != null) {
            row.put("split", "heldout");
            row.putAll(metricsMap(m));
        }
        row.put("train/loss", fin(trainLoss));
        row.put("learning_rate", fin(lr));
        row.put("tokens_per_s", fin(tokensPerS));
        row.put("elapsed_s", elapsed);
        try {
            return JSON.writeValueAsString(row);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] ints(List<Integer> xs) {
        int[] a = new int[xs.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = xs.get(i);
        }
        return a;
    }
}
