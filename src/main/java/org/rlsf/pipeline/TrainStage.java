package org.rlsf.pipeline;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.rlsf.config.CodeVersion;
import org.rlsf.config.NativeVariant;
import org.rlsf.config.RlsfConfig;
import org.rlsf.config.TrainConfig;
import org.rlsf.io.FileStore;
import org.rlsf.io.Lineage;
import org.rlsf.io.PairsTable;
import org.rlsf.io.RunLayout;
import org.rlsf.io.SparkSessions;
import org.rlsf.model.Checkpoint;
import org.rlsf.pairs.PreferenceExample;
import org.rlsf.train.DpoPlan;
import org.rlsf.train.DpoTrainer;
import org.rlsf.train.PreferenceMetrics;
import org.rlsf.train.TrainerState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The preference-training stage: pairs table + frozen base → DPO with dl4j-spark parameter averaging → checkpoints.
 * The base is both the starting policy and the reference (its log-probs come from the pairs table).
 * <pre>
 *   OUT/config.conf                      resolved configuration
 *   OUT/metrics.jsonl                    one line per averaging round (TRL's metric names) + epoch ends
 *   OUT/epochs/epoch-N/checkpoint/       the policy after epoch N (an LM checkpoint)
 *   OUT/epochs/epoch-N/trainer-state.bin parameters + optimiser state, for resuming
 *   OUT/checkpoint/                      the selected epoch's policy, with lineage
 * </pre>
 */
public final class TrainStage {
    private static final Logger LOG = LoggerFactory.getLogger(TrainStage.class);

    private TrainStage() {
    }

    public record Result(Path checkpoint, String weightsSha256, int trainPairs, int heldoutPairs, int selectedEpoch,
                         PreferenceMetrics initial, PreferenceMetrics selected, double seconds) {
    }

    /**
     * @param runId      only this run's pairs (null: every run in the table)
     * @param resumeFrom a previous output to continue after its last complete epoch (null: start from the base)
     */
    public static Result run(RlsfConfig config, FileStore store, Path pairs, String runId, Path basePath, Path out,
                             Path resumeFrom) {
        long t0 = System.nanoTime();
        TrainConfig cfg = config.train();
        SparkSession spark = SparkSessions.getOrCreate(config.spark());
        store.mkdirs(out);
        store.writeText(new Path(out, "config.conf"), config.render());

        // 1) the base (policy start + reference), the pairs made from it, the plan
        Checkpoint base = Checkpoint.load(store, basePath);
        List<PreferenceExample> all = PairsTable.readExamples(spark, store, pairs, runId, base.weightsSha256());
        // train.length-multiple (0 = by the natives in use): with oneDNN a DPO step measured 1.4x faster at 96
        // positions than at 95, with the default natives ~10% slower, so auto rounds up only for oneDNN
        int multiple = cfg.lengthMultiple() > 0 ? cfg.lengthMultiple() : NativeVariant.inUse().isEmpty() ? 1 : 8;
        int workers = cfg.workers() > 0 ? cfg.workers() : spark.sparkContext().defaultParallelism();
        DpoPlan plan;
        try {
            plan = DpoPlan.of(all, cfg, workers, base.model().contextLength(), multiple, base.tokenizer().bosId(),
                    base.tokenizer().padId());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(pairs + ": " + e.getMessage(), e);
        }
        LOG.info("{} pairs ({} train, {} held out, by prompt), length {}, {} workers x {} pairs per batch, "
                        + "{} rounds per epoch, {} epochs, {} (beta {}, eps {}), lr {}", all.size(), plan.train().size(),
                plan.heldout().size(), plan.seqLen(), workers, cfg.pairsPerBatch(), plan.roundsPerEpoch(), cfg.epochs(),
                cfg.loss().configName(), cfg.beta(), cfg.labelSmoothing(), cfg.learningRate());

        // 2) the epochs
        Map<String, Object> lineage = lineage(config, store, pairs, runId, basePath, base, all.size(), plan);
        PreferenceMetrics initial = DpoTrainer.train(SparkSessions.javaContext(spark), store, plan, cfg, config.compute(), base,
                basePath, out, resumeFrom, lineage);

        // 3) the final checkpoint: the selected epoch's policy
        int selected = TrainerState.select(store, out, cfg);
        Checkpoint chosen = Checkpoint.load(store, new Path(TrainerState.epochDir(out, selected), "checkpoint"));
        Map<String, Object> finalLineage = new LinkedHashMap<>(chosen.lineage());
        finalLineage.put("selected_epoch", selected);
        finalLineage.put("selection", cfg.select().configName());
        Path ckpt = RunLayout.policy(out);
        String hash = Checkpoint.save(store, ckpt, chosen.graph(), chosen.tokenizer(), chosen.model(), finalLineage);
        LOG.info("final checkpoint {} = epoch {} ({}), weights sha256 {}", ckpt, selected, cfg.select().configName(),
                hash.substring(0, 12));
        return new Result(ckpt, hash, plan.train().size(), plan.heldout().size(), selected, initial,
                TrainerState.readEpochMetrics(store, out, selected), (System.nanoTime() - t0) / 1e9);
    }

    private static Map<String, Object> lineage(RlsfConfig config, FileStore store, Path pairs, String runId, Path basePath,
                                               Checkpoint base, int pairsTotal, DpoPlan plan) {
        TrainConfig cfg = config.train();
        return Lineage.asMap(Lineage.Train.of(cfg.loss().configName(), store.qualify(pairs), runId, pairsTotal,
                plan.train().size(), plan.heldout().size(), store.qualify(basePath), base.weightsSha256(), cfg.beta(),
                cfg.labelSmoothing(), cfg.learningRate(), cfg.epochs(), cfg.seed(), config.hash(), CodeVersion.get()));
    }
}
