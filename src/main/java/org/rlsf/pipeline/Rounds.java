package org.rlsf.pipeline;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.rlsf.config.EvaluateConfig.Decoding;
import org.rlsf.config.RlsfConfig;
import org.rlsf.config.RunConfig;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.Json;
import org.rlsf.io.RunLayout;
import org.rlsf.report.RunReport;
import org.rlsf.score.RoundSignals;
import org.rlsf.score.StoppingRule;
import org.rlsf.tasks.Problem;
import org.rlsf.train.TrainerState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Iterated RLSF ({@code run.rounds > 1}): round r (r >= 2) takes round r−1's policy as its frozen model, which writes
 * and scores the traces on fresh prompts and is the DPO reference; everything of round r lands under
 * {@code rounds/round-r/} and each step resumes as round 1's does. After the last round, its policy traces one more set
 * of fresh prompts (the probe, never trained on), so that every policy, the base included, has label-free signals
 * ({@link RoundSignals}) read from its own traces; {@link StoppingRule} keeps a round by them alone.
 */
final class Rounds {
    private static final Logger LOG = LoggerFactory.getLogger(Rounds.class);

    private Rounds() {
    }

    /** Trains rounds 2..N after round 1 (whose policy is {@code round1Policy}) and traces the probe; returns policies 1..N. */
    static List<Path> train(RlsfConfig config, SparkSession spark, FileStore store, RunLayout layout, StageTimings timings,
                            Path round1Policy) {
        RunConfig run = config.run();
        List<Path> policies = new ArrayList<>(List.of(round1Policy));
        Path previous = round1Policy;
        for (int r = 2; r <= run.rounds() + 1; r++) {
            RunLayout lr = layout.round(r);
            boolean probe = r == run.rounds() + 1;
            timings.begin((probe ? "probe" : "round " + r) + " generate");
            LOG.info("[5/7] round {} of {}: {} on fresh prompts with {}", r, run.rounds(), probe
                    ? "the last policy's traces (signals only)" : "generate, pairs and DPO", previous);
            writePrompts(spark, store, lr.prompts(), run, r);
            GenerateStage.run(config, store, previous, lr.prompts(), lr.traces(), lr.runId());
            if (probe) {
                break;
            }
            timings.begin("round " + r + " pairs");
            if (!RunLayout.isComplete(store, RunLayout.runPartition(lr.pairs(), lr.runId()))) {
                PairsStage.run(config, store, lr.traces(), lr.pairs(), lr.runId());
            }
            timings.begin("round " + r + " train");
            Path tuned = lr.tuned();
            if (!RunLayout.isCheckpoint(store, RunLayout.policy(tuned))) {
                boolean resume = TrainerState.hasCompleteEpoch(store, tuned);
                TrainStage.run(config, store, lr.pairs(), lr.runId(), previous, tuned, resume ? tuned : null);
            }
            previous = RunLayout.policy(tuned);
            policies.add(previous);
        }
        return policies;
    }

    /** Greedy evaluations of rounds 2..N's policies on the held-out (and out-of-distribution) problems. */
    static void evaluate(RlsfConfig config, FileStore store, RunLayout layout, StageTimings timings, List<Path> policies,
                         boolean ood) {
        for (int r = 2; r <= policies.size(); r++) {
            RunLayout lr = layout.round(r);
            timings.begin("round " + r + " evaluate");
            for (boolean outside : ood ? new boolean[]{false, true} : new boolean[]{false}) {
                String name = RunReport.RLSF_GREEDY + (outside ? RunLayout.OOD_SUFFIX : "");
                EvaluateStage.Target target = new EvaluateStage.Target(lr.eval(name), name, Decoding.GREEDY);
                if (!RunLayout.isEvaluated(store, target.out())) {
                    EvaluateStage.run(config, store, policies.get(r - 1), outside ? layout.heldoutOod() : layout.heldout(), target);
                }
            }
        }
    }

    /**
     * Every policy's label-free signals (policy 0 = the base, read from round 1's traces; policy r from round r+1's, the
     * last from the probe), the round {@link StoppingRule} keeps, and where each round's evaluations are: written to
     * {@code rounds/summary.json} for the report. Reads no gold answer.
     */
    static Map<String, Object> summarize(RlsfConfig config, SparkSession spark, FileStore store, RunLayout layout) {
        int rounds = config.run().rounds();
        List<RoundSignals> signals = new ArrayList<>();
        for (int r = 1; r <= rounds + 1; r++) {
            RunLayout lr = layout.round(r);
            signals.add(signals(spark, RunLayout.runPartition(lr.traces(), lr.runId()), config.pairs().threshold()));
        }
        StoppingRule.Decision decision = StoppingRule.decide(signals);
        List<Map<String, Object>> perPolicy = new ArrayList<>();
        for (int p = 0; p <= rounds; p++) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("policy", p == 0 ? "base" : "round " + p);
            m.put("round", p);
            m.put("signals", signals.get(p));
            m.put("eval", p == 0 ? null : layout.round(p).eval(RunReport.RLSF_GREEDY).toString());
            perPolicy.add(m);
        }
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("rounds", rounds);
        summary.put("rule", StoppingRule.DESCRIPTION);
        summary.put("kept_round", decision.round());
        summary.put("reason", decision.reason());
        summary.put("policies", perPolicy);
        store.writeText(new Path(layout.rounds(), "summary.json"), Json.write(summary));
        LOG.info("  rounds: the label-free rule keeps round {} ({})", decision.round(), decision.reason());
        return summary;
    }

    /** The label-free signals of one traces partition (its model's). */
    static RoundSignals signals(SparkSession spark, Path partition, double threshold) {
        List<RoundSignals.Branch> branches = new ArrayList<>();
        for (Row r : spark.read().parquet(partition.toString())
                .select("prompt_id", "branch", "answer", "confidence", "num_trace_tokens").collectAsList()) {
            branches.add(new RoundSignals.Branch(r.getString(0), r.getInt(1), r.isNullAt(2) ? null : r.getString(2),
                    r.getDouble(3), r.getInt(4)));
        }
        return RoundSignals.of(branches, threshold);
    }

    /**
     * Round {@code r}'s prompts: the r-th block of run.prompts per task, so that no round sees another's (generated: the
     * task's first r × prompts problems of the seed, of which round r takes the last block; imported: rows
     * (r−1)·prompts to r·prompts of the file).
     */
    static void writePrompts(SparkSession spark, FileStore store, Path dir, RunConfig run, int r) {
        if (CorpusTable.isCorpusTable(store, dir)) {
            return;
        }
        int n = run.prompts();
        List<Problem> problems = new ArrayList<>();
        String source;
        if (run.promptsFile().isEmpty()) {
            for (String task : run.tasks()) {
                List<Problem> all = TaskCorpus.generate(List.of(task), r * n, run.seed(), TaskCorpus.TRAIN);
                problems.addAll(all.subList((r - 1) * n, r * n));
            }
            source = "generated:" + String.join("+", run.tasks()) + " (round " + r + ")";
        } else {
            String file = run.promptsFile();
            List<Problem> all = MainJob.importedProblems(store, file);
            if (all.size() < r * n) {
                throw new IllegalArgumentException(file + " has " + all.size() + " prompts; round " + r + " needs rows "
                        + ((r - 1) * n + 1) + "-" + r * n + " (run.prompts = " + n + " fresh prompts per round)");
            }
            problems.addAll(all.subList((r - 1) * n, r * n));
            source = "imported:" + file + " (round " + r + ")";
        }
        CorpusTable.write(spark, store, dir, problems, TaskCorpus.TRAIN, source, Map.of("round", r, "n", problems.size()));
    }
}
