package org.rlsf.pipeline;

import org.apache.hadoop.fs.Path;
import org.rlsf.config.CodeVersion;
import org.rlsf.config.RewardConfig;
import org.rlsf.config.RlsfConfig;
import org.rlsf.config.TrainConfig;
import org.rlsf.io.FileStore;
import org.rlsf.io.Lineage;
import org.rlsf.train.RewardMetrics;
import org.rlsf.train.RewardObjective;
import org.rlsf.train.TrainerState;

import java.util.Map;

/**
 * The reward-model stage (RLSF-PPO's first half, method.md §6.1): pairs table + base → the base's trunk under a scalar
 * head, trained with the Bradley–Terry loss on the confidence-ranked pairs through the same parameter averaging, rounds,
 * held-out split and resume as DPO (layout: {@link PairTraining}). Never reads gold answers: the pairs carry none.
 */
public final class RewardModelStage {
    private RewardModelStage() {
    }

    /**
     * @param selected the selected epoch's held-out values by name (loss, accuracy, rewards/…)
     */
    public record Result(Path checkpoint, String weightsSha256, int trainPairs, int heldoutPairs, int selectedEpoch,
                         RewardMetrics initial, Map<?, ?> selected, double seconds) {
    }

    /**
     * @param runId      only this run's pairs (null: every run in the table)
     * @param resumeFrom a previous output to continue after its last complete epoch (null: start from the base)
     */
    public static Result run(RlsfConfig config, FileStore store, Path pairs, String runId, Path basePath, Path out,
                             Path resumeFrom) {
        RewardConfig rc = config.reward();
        TrainConfig cfg = rc.trainer(config.train());
        boolean margin = rc.margin() == RewardConfig.Margin.CONFIDENCE;
        PairTraining.Result r = PairTraining.fit(config, store, pairs, runId, basePath, out, resumeFrom,
                new PairTraining.Spec(cfg, base -> new RewardObjective(base, margin, rc.learningRate()), 1,
                        (base, all, plan) -> Lineage.asMap(Lineage.RewardModel.of(rc.margin().configName(),
                                store.qualify(pairs), runId, all.size(), plan.train().size(), plan.heldout().size(),
                                store.qualify(basePath), base.weightsSha256(), rc.learningRate(), rc.epochs(), cfg.seed(),
                                config.hash(), CodeVersion.get()))));
        return new Result(r.checkpoint(), r.weightsSha256(), r.trainPairs(), r.heldoutPairs(), r.selectedEpoch(),
                (RewardMetrics) r.initial(), TrainerState.readEpochHeldout(store, out, r.selectedEpoch()), r.seconds());
    }
}
