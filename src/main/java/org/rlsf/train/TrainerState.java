package org.rlsf.train;

import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.config.TrainConfig;
import org.rlsf.io.FileStore;
import org.rlsf.io.Json;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.hf.PeftAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a DPO run leaves after each epoch, and how it is read back: {@code epochs/epoch-N/} holds the trainer state
 * (parameters and optimiser state as raw arrays, {@code trainer.json} with the step and held-out metrics) and the
 * policy as an ordinary LM checkpoint, committed last, so a complete checkpoint means a resumable epoch.
 */
public final class TrainerState {
    private static final Logger LOG = LoggerFactory.getLogger(TrainerState.class);
    static final String STATE = "trainer-state.bin";
    static final String TRAINER = "trainer.json";

    private TrainerState() {
    }

    public static Path epochDir(Path out, int epoch) {
        return new Path(new Path(out, "epochs"), "epoch-" + epoch);
    }

    /** Trainer state first, the checkpoint (committed atomically) last. */
    static void saveEpoch(FileStore store, Path out, int epoch, ComputationGraph graph, PairObjective objective,
                          Map<String, Object> lineage, HeldoutMetrics m) {
        Path dir = epochDir(out, epoch);
        try {
            // raw arrays, not ModelSerializer: in M2.1 a graph restored with its updater trains to NaN
            // (TrainJobTest's resume check pins this), while a rebuilt graph given the same arrays is exact
            try (var o = new DataOutputStream(new java.io.BufferedOutputStream(store.create(new Path(dir, STATE)), 1 << 20))) {
                Nd4j.write(graph.params(), o);
                Nd4j.write(graph.getUpdater(true).getStateViewArray(), o);
            }
            Map<String, Object> state = new LinkedHashMap<>();
            state.put("epoch", epoch);
            state.put("step", graph.getConfiguration().getIterationCount());
            state.put("heldout", metricsMap(m));
            store.writeText(new Path(dir, TRAINER), Json.line(state));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the trainer state of epoch " + epoch + ": " + e.getMessage(), e);
        }
        ComputationGraph saved = objective.checkpointGraph(graph);
        Checkpoint base = objective.base();
        Map<String, Object> l = new LinkedHashMap<>(lineage);
        l.put("epochs_completed", epoch);
        l.put("steps", graph.getConfiguration().getIterationCount());
        l.put("heldout", metricsMap(m));
        l.put("created_at", Instant.now().toString());
        Map<String, byte[]> adapter = new LinkedHashMap<>();
        if (TransformerLm.hasLora(graph)) {   // the merged policy, and its adapter in PEFT's format beside it
            PeftAdapter.files(graph, base.model(), PeftAdapter.baseModelName(base.lineage()))
                    .forEach((name, bytes) -> adapter.put(Checkpoint.ADAPTER_DIR + "/" + name, bytes));
        }
        String hash = Checkpoint.save(store, new Path(dir, "checkpoint"), saved, base.tokenizer(), base.model(), l, true,
                adapter);
        LOG.info("epoch {} saved to {} (weights sha256 {})", epoch, dir, hash.substring(0, 12));
    }

    /** The epoch that becomes the final checkpoint: the last, or the lowest held-out loss (ties: the earlier). */
    public static int select(FileStore store, Path out, TrainConfig cfg) {
        int best = -1;
        double bestLoss = Double.POSITIVE_INFINITY;
        for (int e = 1; e <= cfg.epochs(); e++) {
            if (cfg.select() == TrainConfig.Selection.LAST) {
                best = e;
                continue;
            }
            double loss = readEpochLoss(store, out, e);
            loss = Double.isFinite(loss) ? loss : Double.POSITIVE_INFINITY;
            if (best < 0 || loss < bestLoss) {
                best = e;
                bestLoss = loss;
            }
        }
        return best;
    }

    /** The held-out loss recorded at the end of {@code epoch}; NaN when there was none. */
    static double readEpochLoss(FileStore store, Path out, int epoch) {
        Map<?, ?> h = readEpochHeldout(store, out, epoch);
        return h == null ? Double.NaN : num(h.get("loss"));
    }

    /** The held-out values recorded at the end of {@code epoch} by name, or null when there were none. */
    public static Map<?, ?> readEpochHeldout(FileStore store, Path out, int epoch) {
        try {
            Map<?, ?> state = Json.MAPPER.readValue(store.readText(new Path(epochDir(out, epoch), TRAINER)), Map.class);
            Map<?, ?> h = (Map<?, ?>) state.get("heldout");
            return h == null || h.get("loss") == null ? null : h;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The DPO held-out metrics recorded at the end of {@code epoch}, or null when there were none. */
    public static PreferenceMetrics readEpochMetrics(FileStore store, Path out, int epoch) {
        Map<?, ?> h = readEpochHeldout(store, out, epoch);
        if (h == null) {
            return null;
        }
        return new PreferenceMetrics(((Number) h.get("pairs")).intValue(), num(h.get("loss")), num(h.get("rewards/chosen")),
                num(h.get("rewards/rejected")), num(h.get("rewards/margins")), num(h.get("rewards/accuracies")),
                num(h.get("logps/chosen")), num(h.get("logps/rejected")));
    }

    private static double num(Object o) {
        return o == null ? Double.NaN : ((Number) o).doubleValue();
    }

    /**
     * True when {@code dir} holds an epoch to resume from: a complete checkpoint and its trainer state. An {@code epochs/}
     * directory alone is not one: it is created before the first epoch's checkpoint commits.
     */
    public static boolean hasCompleteEpoch(FileStore store, Path dir) {
        Path epochs = new Path(dir, "epochs");
        if (!store.exists(epochs)) {
            return false;
        }
        for (Path p : store.list(epochs)) {
            if (p.getName().matches("epoch-\\d+") && store.exists(new Path(new Path(p, "checkpoint"), Checkpoint.MANIFEST))
                    && store.exists(new Path(p, STATE)) && store.exists(new Path(p, TRAINER))) {
                return true;
            }
        }
        return false;
    }

    /** A resumable point: the latest epoch with a complete checkpoint and its trainer state. */
    record Resume(int epoch, long step, INDArray params, INDArray updater) {
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
                if (store.exists(new Path(new Path(ed, "checkpoint"), Checkpoint.MANIFEST))
                        && store.exists(new Path(ed, STATE)) && store.exists(new Path(ed, TRAINER))) {
                    // streamed: parameters and optimiser state of a real model exceed what one byte[] holds (2 GB)
                    try (var in = new DataInputStream(new java.io.BufferedInputStream(store.open(new Path(ed, STATE)), 1 << 20))) {
                        Map<?, ?> state = Json.MAPPER.readValue(store.readText(new Path(ed, TRAINER)), Map.class);
                        return new Resume(e, ((Number) state.get("step")).longValue(), Nd4j.read(in), Nd4j.read(in));
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

    /** Copies epochs 1..{@code upTo} (state, checkpoint) and the metrics log of a previous output into {@code to}. */
    static void copyEpochs(FileStore store, Path from, Path to, int upTo) {
        for (int e = 1; e <= upTo; e++) {
            Path src = epochDir(from, e);
            for (Path f : List.of(new Path(src, STATE), new Path(src, TRAINER))) {
                try (var o = store.create(new Path(epochDir(to, e), f.getName())); var in = store.open(f)) {
                    in.transferTo(o);
                } catch (IOException ex) {
                    throw new UncheckedIOException(ex);
                }
            }
            Checkpoint c = Checkpoint.load(store, new Path(src, "checkpoint"));
            Checkpoint.save(store, new Path(epochDir(to, e), "checkpoint"), c.graph(), c.tokenizer(), c.model(), c.lineage(),
                    true, Checkpoint.extraFiles(store, new Path(src, "checkpoint")));
        }
        Path metrics = new Path(from, "metrics.jsonl");
        if (store.exists(metrics)) {
            store.writeText(new Path(to, "metrics.jsonl"), store.readText(metrics));
        }
    }

    /** Held-out metrics under their names (TRL's for DPO); non-finite values as null. */
    static Map<String, Object> metricsMap(HeldoutMetrics m) {
        Map<String, Object> row = new LinkedHashMap<>();
        if (m == null) {
            return row;
        }
        row.put("pairs", m.pairs());
        m.values().forEach((k, v) -> row.put(k, fin(v)));
        return row;
    }

    private static Double fin(double x) {
        return Double.isFinite(x) ? x : null;
    }

    /** One line of {@code metrics.jsonl}: a round (held-out metrics when measured) or the start. */
    static String metricsLine(int epoch, int round, long step, HeldoutMetrics m, double trainLoss, double lr,
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
        return Json.line(row);
    }
}
