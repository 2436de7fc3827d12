package org.rlsf.pipeline;

import org.apache.hadoop.fs.Path;
import org.rlsf.config.CodeVersion;
import org.rlsf.config.RlsfConfig;
import org.rlsf.config.TrainConfig;
import org.rlsf.io.FileStore;
import org.rlsf.io.Lineage;
import org.rlsf.model.Checkpoint;
import org.rlsf.train.DpoObjective;
import org.rlsf.train.DpoPlan;
import org.rlsf.train.PreferenceMetrics;
import org.rlsf.train.TrainerState;

import java.util.Map;

/**
 * The preference-training stage: pairs table + frozen base → DPO with dl4j-spark parameter averaging → checkpoints
 * (layout: {@link PairTraining}). The base is both the starting policy and the reference (its log-probs come from the
 * pairs table); every epoch's checkpoint is an ordinary LM checkpoint.
 */
public final class TrainStage {
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
        TrainConfig cfg = config.train();
        PairTraining.Result r = PairTraining.fit(config, store, pairs, runId, basePath, out, resumeFrom,
                new PairTraining.Spec(cfg, base -> new DpoObjective(base, cfg), 0,
                        (base, all, plan) -> lineage(config, store, pairs, runId, basePath, base, all.size(), plan)));
        return new Result(r.checkpoint(), r.weightsSha256(), r.trainPairs(), r.heldoutPairs(), r.selectedEpoch(),
                (PreferenceMetrics) r.initial(), TrainerState.readEpochMetrics(store, out, r.selectedEpoch()), r.seconds());
    }

    private static Map<String, Object> lineage(RlsfConfig config, FileStore store, Path pairs, String runId, Path basePath,
                                               Checkpoint base, int pairsTotal, DpoPlan plan) {
        TrainConfig cfg = config.train();
        return Lineage.asMap(Lineage.Train.of(cfg.loss().configName(), store.qualify(pairs), runId, pairsTotal,
                plan.train().size(), plan.heldout().size(), store.qualify(basePath), base.weightsSha256(), cfg.beta(),
                cfg.labelSmoothing(), cfg.learningRate(), cfg.epochs(), cfg.seed(), config.hash(), CodeVersion.get()));
    }
}
