package org.rlsf.pipeline;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.rlsf.config.NativeVariant;
import org.rlsf.config.RlsfConfig;
import org.rlsf.config.TrainConfig;
import org.rlsf.io.FileStore;
import org.rlsf.io.PairsTable;
import org.rlsf.io.RunLayout;
import org.rlsf.io.SparkSessions;
import org.rlsf.model.Checkpoint;
import org.rlsf.pairs.PreferenceExample;
import org.rlsf.train.DpoPlan;
import org.rlsf.train.HeldoutMetrics;
import org.rlsf.train.PairObjective;
import org.rlsf.train.PairTrainer;
import org.rlsf.train.TrainerState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * What the stages that train on the pairs share ({@link TrainStage}: DPO; {@link RewardModelStage}: the reward model):
 * the base and its pairs, the plan, the epochs through {@link PairTrainer}, and the selected epoch as the final
 * checkpoint.
 * <pre>
 *   OUT/config.conf                      resolved configuration
 *   OUT/metrics.jsonl                    one line per averaging round + the start
 *   OUT/epochs/epoch-N/checkpoint/       the model after epoch N
 *   OUT/epochs/epoch-N/trainer-state.bin parameters + optimiser state, for resuming
 *   OUT/checkpoint/                      the selected epoch's model, with lineage
 * </pre>
 */
final class PairTraining {
    private static final Logger LOG = LoggerFactory.getLogger(PairTraining.class);

    private PairTraining() {
    }

    /**
     * @param cfg           the trainer's settings (batching, averaging, held-out split, epochs, learning rate, selection)
     * @param objective     what is trained, given the loaded base
     * @param lengthReserve positions the objective adds to a planned length (the reward model feeds the last token too)
     * @param lineage       the stage's lineage from the base, the examples and the plan
     */
    record Spec(TrainConfig cfg, Function<Checkpoint, PairObjective> objective, int lengthReserve,
                LineageFactory lineage) {
    }

    interface LineageFactory {
        Map<String, Object> of(Checkpoint base, List<PreferenceExample> all, DpoPlan plan);
    }

    record Result(Path checkpoint, String weightsSha256, int trainPairs, int heldoutPairs, int selectedEpoch,
                  HeldoutMetrics initial, double seconds) {
    }

    static Result fit(RlsfConfig config, FileStore store, Path pairs, String runId, Path basePath, Path out,
                      Path resumeFrom, Spec spec) {
        long t0 = System.nanoTime();
        TrainConfig cfg = spec.cfg();
        SparkSession spark = SparkSessions.getOrCreate(config.spark());
        store.mkdirs(out);
        store.writeText(new Path(out, "config.conf"), config.render());

        // 1) the base (starting weights; DPO's reference), the pairs made from it, the plan
        Checkpoint base = Checkpoint.load(store, basePath);
        PairObjective objective = spec.objective().apply(base);
        List<PreferenceExample> all = PairsTable.readExamples(spark, store, pairs, runId, base.weightsSha256());
        // train.length-multiple (0 = by the natives in use): with oneDNN a DPO step measured 1.4x faster at 96
        // positions than at 95, with the default natives ~10% slower, so auto rounds up only for oneDNN
        int multiple = cfg.lengthMultiple() > 0 ? cfg.lengthMultiple() : NativeVariant.inUse().isEmpty() ? 1 : 8;
        int workers = cfg.workers() > 0 ? cfg.workers() : spark.sparkContext().defaultParallelism();
        DpoPlan plan;
        try {
            plan = DpoPlan.of(all, cfg, workers, base.model().contextLength() - spec.lengthReserve(), multiple,
                    base.tokenizer().bosId(), base.tokenizer().padId());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(pairs + ": " + e.getMessage(), e);
        }
        LOG.info("{}: {} pairs ({} train, {} held out, by prompt), length {}, {} workers x {} pairs per batch, "
                        + "{} rounds per epoch, {} epochs, lr {}", objective.name(), all.size(), plan.train().size(),
                plan.heldout().size(), plan.seqLen(), workers, cfg.pairsPerBatch(), plan.roundsPerEpoch(), cfg.epochs(),
                cfg.learningRate());

        // 2) the epochs
        HeldoutMetrics initial = PairTrainer.train(SparkSessions.javaContext(spark), store, plan, cfg, config.compute(),
                objective, basePath, out, resumeFrom, spec.lineage().of(base, all, plan));

        // 3) the final checkpoint: the selected epoch's model
        int selected = TrainerState.select(store, out, cfg);
        Path chosenDir = new Path(TrainerState.epochDir(out, selected), "checkpoint");
        Path ckpt = RunLayout.policy(out);
        // the epoch's files as they are (a LoRA policy's adapter with them), verified, with the selection in the lineage
        String hash = Checkpoint.copy(store, chosenDir, ckpt, epochLineage -> {
            Map<String, Object> finalLineage = new LinkedHashMap<>(epochLineage);
            finalLineage.put("selected_epoch", selected);
            finalLineage.put("selection", cfg.select().configName());
            return finalLineage;
        });
        LOG.info("final {} checkpoint {} = epoch {} ({}), weights sha256 {}", objective.name(), ckpt, selected,
                cfg.select().configName(), hash.substring(0, 12));
        return new Result(ckpt, hash, plan.train().size(), plan.heldout().size(), selected, initial,
                (System.nanoTime() - t0) / 1e9);
    }
}
