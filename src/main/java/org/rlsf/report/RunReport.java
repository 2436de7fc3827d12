package org.rlsf.report;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.hadoop.fs.Path;
import org.rlsf.io.FileStore;
import org.rlsf.io.Json;
import org.rlsf.io.RunLayout;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The run report, from the written artefacts only (evaluation summaries and reliability bins, DPO
 * metrics, pairs manifests, config, lineage): {@code report.md}, {@code report.html}, reliability
 * diagrams and DPO curves as PNG, and the tables as {@code results.csv} / {@code results.json}.
 */
public final class RunReport {
    public static final String RLSF_GREEDY = "rlsf-greedy";
    public static final String PPO_GREEDY = "rlsf-ppo-greedy";
    /** The evaluations of a DPO run ({@code run.method = dpo}); PPO runs add or replace the tuned one. */
    public static final List<String> EVALS = List.of("base-greedy", "base-cot-decoding", RLSF_GREEDY);

    /** The evaluations a run has: both base ones, then whichever tuned policies were evaluated (DPO, PPO). */
    static List<String> evals(FileStore store, RunLayout layout) {
        List<String> out = new ArrayList<>(List.of("base-greedy", "base-cot-decoding"));
        for (String tuned : List.of(RLSF_GREEDY, PPO_GREEDY)) {
            if (store.exists(RunLayout.evalSummary(layout.eval(tuned)))) {
                out.add(tuned);
            }
        }
        if (out.size() == 2) {
            throw new IllegalArgumentException("cannot report on " + layout.dir() + ": neither " + RLSF_GREEDY + " nor "
                    + PPO_GREEDY + " has been evaluated (run the evaluations first)");
        }
        return out;
    }

    private RunReport() {
    }

    /** Where the report went, and the results table as console lines. */
    public record Result(Path dir, List<String> table, List<String> checks) {
    }

    public static Result write(FileStore store, RunLayout layout) {
        Path runDir = layout.dir();
        Path out = layout.report();
        Map<String, JsonNode> summaries = new LinkedHashMap<>();
        List<String> evals = evals(store, layout);
        for (String e : evals) {
            Path s = RunLayout.evalSummary(layout.eval(e));
            if (!store.exists(s)) {
                throw new IllegalArgumentException("cannot report on " + runDir + ": " + s + " is missing (run the evaluations first)");
            }
            summaries.put(e, read(store, s));
        }
        TreeSet<String> tasks = new TreeSet<>();
        summaries.values().forEach(s -> s.get("by_task").fieldNames().forEachRemaining(tasks::add));
        List<String> scopes = new ArrayList<>(tasks);
        scopes.add("all");

        // 1) the results table
        List<Map<String, Object>> rows = resultRows(scopes, evals, summaries);
        String csv = csv(rows);
        List<String> table = new ArrayList<>();
        table.add(String.format("%-6s %-18s %9s %7s %7s %7s %10s", "task", "model", "accuracy", "ECE10", "Brier", "AUROC", "tokens/pb"));
        rows.forEach(r -> table.add(consoleLine(r, "")));
        // the reward model as a judge of the base's CoT-decoding branches (gold answers used only here, to judge it)
        List<String> rewardLines = new ArrayList<>();
        List<Map<String, Object>> rewardRows = new ArrayList<>();
        JsonNode cotSummary = summaries.get("base-cot-decoding");
        if (cotSummary.path(RunLayout.EVAL_SUMMARY_REWARD_MODEL).isTextual()) {
            for (String t : scopes) {
                JsonNode c = scope(cotSummary, t);
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("task", t);
                r.put("reward_branch_auroc", c.hasNonNull("reward_branch_auroc") ? c.get("reward_branch_auroc").asDouble() : null);
                r.put("confidence_branch_auroc", c.hasNonNull("branch_auroc") ? c.get("branch_auroc").asDouble() : null);
                r.put("reward_best_of_k_accuracy", c.hasNonNull("reward_best_of_k_accuracy")
                        ? c.get("reward_best_of_k_accuracy").asDouble() : null);
                r.put("confidence_best_of_k_accuracy", c.get("accuracy").asDouble());
                r.put("branches", c.path("branches").asLong());
                rewardRows.add(r);
                rewardLines.add(String.format("%-6s reward model on base CoT-decoding branches: AUROC vs correctness %.3f "
                                + "(span confidence %.3f); best-of-K by reward %.1f%% (by confidence %.1f%%), %d branches",
                        t, d(r.get("reward_branch_auroc")), d(r.get("confidence_branch_auroc")),
                        100 * d(r.get("reward_best_of_k_accuracy")), 100 * d(r.get("confidence_best_of_k_accuracy")),
                        (Long) r.get("branches")));
            }
            table.addAll(rewardLines);
        }
        List<String> checks = targetChecks(tasks, evals, summaries, "");

        // 1b) out of distribution: the same evaluations on problems outside the training range (run.ood-problems)
        Map<String, JsonNode> oodSummaries = new LinkedHashMap<>();
        for (String e : evals) {
            Path s = RunLayout.evalSummary(layout.evalOod(e));
            if (store.exists(s)) {
                oodSummaries.put(e, read(store, s));
            }
        }
        boolean ood = oodSummaries.keySet().containsAll(evals);
        List<Map<String, Object>> oodRows = ood ? resultRows(scopes, evals, oodSummaries) : List.of();
        List<String> oodChecks = ood ? targetChecks(tasks, evals, oodSummaries, " (out of distribution)") : List.of();
        oodRows.forEach(r -> table.add(consoleLine(r, RunLayout.OOD_SUFFIX)));

        // 2) charts
        Map<String, String> images = new LinkedHashMap<>();
        for (String e : evals) {
            Map<String, List<Charts.Bar>> bars = reliability(store, new Path(layout.eval(e), "reliability.csv"));
            for (var b : bars.entrySet()) {
                String name = "reliability-" + e + "-" + b.getKey() + ".png";
                writeBytes(store, new Path(out, name), Charts.reliability(e + " — " + b.getKey(), b.getValue()));
                images.put(name, e + ", " + b.getKey());
            }
        }
        Path metrics = new Path(layout.tuned(), "metrics.jsonl");
        List<JsonNode> curve = new ArrayList<>();
        if (store.exists(metrics)) {
            for (String line : store.readText(metrics).split("\n")) {
                if (!line.isBlank()) {
                    curve.add(readString(line));
                }
            }
            // held-out lines (the start, each epoch's end, every train.heldout-every-rounds) and each round's training loss
            List<JsonNode> heldoutCurve = curve.stream().filter(n -> n.has("loss")).toList();
            double[] steps = heldoutCurve.stream().mapToDouble(n -> n.get("step").asDouble()).toArray();
            writeBytes(store, new Path(out, "dpo-loss.png"), Charts.lines("DPO held-out loss", "optimiser step", "loss", steps,
                    List.of(new Charts.Series("held-out DPO loss", series(heldoutCurve, "loss")))));
            writeBytes(store, new Path(out, "dpo-rewards.png"), Charts.lines("DPO held-out rewards", "optimiser step", steps,
                    "implicit reward β(log π − log π_ref)", List.of(new Charts.Series("chosen", series(heldoutCurve, "rewards/chosen")),
                            new Charts.Series("rejected", series(heldoutCurve, "rewards/rejected")),
                            new Charts.Series("margin", series(heldoutCurve, "rewards/margins"))),
                    "reward accuracy", List.of(new Charts.Series("accuracy", series(heldoutCurve, "rewards/accuracies")))));
            List<JsonNode> trainCurve = curve.stream().filter(n -> n.hasNonNull("train/loss")).toList();
            if (!trainCurve.isEmpty()) {
                writeBytes(store, new Path(out, "dpo-train-loss.png"), Charts.lines("DPO training loss (workers' last minibatch)",
                        "optimiser step", "loss", trainCurve.stream().mapToDouble(n -> n.get("step").asDouble()).toArray(),
                        List.of(new Charts.Series("training loss", series(trainCurve, "train/loss")))));
            }
        }

        // 2b) rounds (run.rounds > 1): per-round results, label-free signals, the kept round
        List<Map<String, Object>> roundRows = new ArrayList<>();
        List<String> roundLines = new ArrayList<>();
        Path roundsSummary = new Path(layout.rounds(), "summary.json");
        JsonNode roundsJson = store.exists(roundsSummary) ? read(store, roundsSummary) : null;
        if (roundsJson != null) {
            for (JsonNode p : roundsJson.get("policies")) {
                int r = p.get("round").asInt();
                Path inEval = r == 0 ? layout.eval("base-greedy") : layout.round(r).eval(RLSF_GREEDY);
                Path oodEval = r == 0 ? layout.evalOod("base-greedy") : layout.round(r).evalOod(RLSF_GREEDY);
                JsonNode inAll = read(store, RunLayout.evalSummary(inEval)).get("all");
                JsonNode outAll = store.exists(RunLayout.evalSummary(oodEval))
                        ? read(store, RunLayout.evalSummary(oodEval)).get("all") : null;
                JsonNode sig = p.get("signals");
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("round", r);
                row.put("policy", p.get("policy").asText());
                row.put("accuracy", inAll.get("accuracy").asDouble());
                row.put("ece_10bin_x100", inAll.get("ece_10bin_x100").asDouble());
                row.put("tokens_per_problem", inAll.get("generated_tokens_per_problem").asDouble());
                row.put("ood_accuracy", outAll == null ? null : outAll.get("accuracy").asDouble());
                row.put("ood_ece_10bin_x100", outAll == null ? null : outAll.get("ece_10bin_x100").asDouble());
                row.put("ood_tokens_per_problem", outAll == null ? null : outAll.get("generated_tokens_per_problem").asDouble());
                for (String k : List.of("agreement", "confident_share", "mean_confidence", "confidence_entropy", "mean_trace_tokens",
                        "greedy_trace_tokens")) {
                    row.put(k, sig.get(k).asDouble());
                }
                roundRows.add(row);
            }
            double[] x = roundRows.stream().mapToDouble(r -> ((Integer) r.get("round")).doubleValue()).toArray();
            boolean oodRounds = roundRows.get(0).get("ood_accuracy") != null;
            List<Charts.Series> acc = new ArrayList<>(List.of(new Charts.Series("held-out", col(roundRows, "accuracy"))));
            List<Charts.Series> ece = new ArrayList<>(List.of(new Charts.Series("held-out", col(roundRows, "ece_10bin_x100"))));
            List<Charts.Series> tokens = new ArrayList<>(List.of(new Charts.Series("held-out",
                    col(roundRows, "tokens_per_problem"))));
            if (oodRounds) {
                acc.add(new Charts.Series("out of distribution", col(roundRows, "ood_accuracy")));
                ece.add(new Charts.Series("out of distribution", col(roundRows, "ood_ece_10bin_x100")));
                tokens.add(new Charts.Series("out of distribution", col(roundRows, "ood_tokens_per_problem")));
            }
            tokens.add(new Charts.Series("fresh prompts", col(roundRows, "greedy_trace_tokens")));
            writeBytes(store, new Path(out, "rounds-accuracy.png"), Charts.lines("Greedy accuracy by round (0 = base)",
                    "round", "accuracy", x, acc));
            writeBytes(store, new Path(out, "rounds-ece.png"), Charts.lines("Greedy ECE by round (0 = base)", "round",
                    "ECE, 10 bins (x100)", x, ece));
            writeBytes(store, new Path(out, "rounds-tokens.png"), Charts.lines("Greedy tokens per problem by round (0 = base)",
                    "round", "tokens", x, tokens));
            writeBytes(store, new Path(out, "rounds-signals.png"), Charts.lines("Label-free signals by round (0 = base)",
                    "round", "share", x, List.of(new Charts.Series("branch agreement", col(roundRows, "agreement")),
                            new Charts.Series("confident branches", col(roundRows, "confident_share")),
                            new Charts.Series("confidence entropy / ln 10", col(roundRows, "confidence_entropy")))));
            int kept = roundsJson.get("kept_round").asInt();
            int best = 0;
            for (int i = 1; i < roundRows.size(); i++) {
                if ((double) roundRows.get(i).get("accuracy") > (double) roundRows.get(best).get("accuracy")) {
                    best = i;
                }
            }
            roundLines.add(String.format("the label-free rule keeps round %d (%s): accuracy %.1f%%, ECE %.2f", kept,
                    roundsJson.get("reason").asText(), 100 * (double) roundRows.get(kept).get("accuracy"),
                    (double) roundRows.get(kept).get("ece_10bin_x100")));
            roundLines.add(String.format("the best round by the labelled evaluation is round %d: accuracy %.1f%%, ECE %.2f "
                            + "(the kept round is %.1f points below it)", best, 100 * (double) roundRows.get(best).get("accuracy"),
                    (double) roundRows.get(best).get("ece_10bin_x100"),
                    100 * ((double) roundRows.get(best).get("accuracy") - (double) roundRows.get(kept).get("accuracy"))));
            table.addAll(roundLines);
        }

        // 3) pairs, config, lineage
        List<String> pairLines = new ArrayList<>();
        Path pairs = layout.pairs();
        if (store.exists(pairs)) {
            for (Path p : store.list(pairs)) {
                Path manifest = RunLayout.manifest(p);
                if (RunLayout.runIdOf(p) != null && store.exists(manifest)) {
                    JsonNode m = read(store, manifest);
                    pairLines.add(String.format("%s: %d pairs from %d of %d prompts (policy %s, threshold %s); c_chosen − c_rejected histogram %s",
                            p.getName(), m.get("pairs").asLong(), m.get("prompts_with_pairs").asLong(), m.get("prompts").asLong(),
                            m.get("policy").asText(), m.get("threshold").asText(), m.get("confidence_gap_histogram").toString()));
                }
            }
        }
        String config = store.exists(layout.config()) ? store.readText(layout.config()) : "";
        Path tunedLineage = new Path(RunLayout.policy(layout.tuned()), "lineage.json");
        String lineage = store.exists(tunedLineage) ? store.readText(tunedLineage) : "{}";

        // 4) documents
        StringBuilder md = new StringBuilder("# RLSF run report: ").append(runDir.getName()).append("\n\n");
        md.append("Held-out problems, base model vs the RLSF policies (rlsf-greedy: DPO; rlsf-ppo-greedy: RLSF-PPO). "
                + "ECE: 10 equal-width bins (lower, upper], ×100. ")
                .append("Tokens: generated per problem (all branches for CoT-decoding).\n\n");
        markdownTable(md, rows);
        md.append("\n## Targets\n\n");
        checks.forEach(c -> md.append("- ").append(c).append('\n'));
        if (ood) {
            md.append("\n## Out of distribution\n\nThe same models on problems generated the same way but outside the "
                    + "training range (longer step chains than any prompt or pretraining problem; `run.ood-problems`). "
                    + "Nothing was tuned on them; the targets are checked the same way.\n\n");
            markdownTable(md, oodRows);
            md.append('\n');
            oodChecks.forEach(c -> md.append("- ").append(c).append('\n'));
        }
        if (roundsJson != null) {
            md.append("\n## Rounds\n\nEach round's policy (round 0: the base), evaluated greedy on the held-out problems (and out "
                    + "of distribution), beside its label-free signals, read from its own CoT-decoding traces on fresh prompts "
                    + "(the base's from round 1's traces, the last round's from a probe set it was never trained on). "
                    + "The rule (" + roundsJson.get("rule").asText() + ") reads only the signals.\n\n");
            md.append("| round | accuracy | ECE | tokens/problem | OOD accuracy | OOD ECE | agreement | confident branches | "
                    + "confidence entropy | greedy branch tokens |\n|---|---|---|---|---|---|---|---|---|---|\n");
            for (Map<String, Object> r : roundRows) {
                md.append(String.format("| %d | %.1f%% | %.2f | %.1f | %s | %s | %.3f | %.3f | %.3f | %.1f |%n", (Integer) r.get("round"),
                        100 * d(r.get("accuracy")), d(r.get("ece_10bin_x100")), d(r.get("tokens_per_problem")),
                        r.get("ood_accuracy") == null ? "–" : String.format("%.1f%%", 100 * d(r.get("ood_accuracy"))),
                        r.get("ood_ece_10bin_x100") == null ? "–" : String.format("%.2f", d(r.get("ood_ece_10bin_x100"))),
                        d(r.get("agreement")), d(r.get("confident_share")), d(r.get("confidence_entropy")),
                        d(r.get("greedy_trace_tokens"))));
            }
            md.append('\n');
            roundLines.forEach(l -> md.append("- ").append(l).append('\n'));
            md.append("\n![accuracy by round](rounds-accuracy.png) ![ECE by round](rounds-ece.png) "
                    + "![tokens by round](rounds-tokens.png) ![signals by round](rounds-signals.png)\n");
        }
        md.append("\n## Reliability diagrams\n\n");
        images.forEach((f, label) -> md.append("![").append(label).append("](").append(f).append(")\n"));
        if (store.exists(metrics)) {
            md.append("\n## DPO\n\n![loss](dpo-loss.png) ![rewards](dpo-rewards.png)");
            md.append(store.exists(new Path(out, "dpo-train-loss.png")) ? " ![training loss](dpo-train-loss.png)\n\n" : "\n\n");
        }
        Path ppoMetrics = new Path(layout.ppo(), "metrics.jsonl");
        if (store.exists(ppoMetrics)) {
            List<JsonNode> rounds = new ArrayList<>();
            for (String line : store.readText(ppoMetrics).split("\n")) {
                if (!line.isBlank()) {
                    rounds.add(readString(line));
                }
            }
            double[] x = rounds.stream().mapToDouble(n -> n.get("round").asDouble()).toArray();
            writeBytes(store, new Path(out, "ppo-rounds.png"), Charts.lines("RLSF-PPO rounds", "round", x,
                    "reward model score, KL to the base", List.of(new Charts.Series("mean reward", series(rounds, "reward/mean")),
                            new Charts.Series("KL (per response)", series(rounds, "kl"))),
                    "clip fraction", List.of(new Charts.Series("clip fraction", series(rounds, "clip_fraction")))));
            md.append("\n## RLSF-PPO\n\n![rounds](ppo-rounds.png)\n\n");
            Path rmLineage = new Path(RunLayout.policy(layout.rewardModel()), "lineage.json");
            if (store.exists(rmLineage)) {
                JsonNode h = read(store, rmLineage).path("heldout");
                md.append(String.format("Reward model: held-out pair accuracy %.3f, reward margin %.3f, loss %.4f (%d pairs).%n%n",
                        h.path("accuracy").asDouble(Double.NaN), h.path("rewards/margins").asDouble(Double.NaN),
                        h.path("loss").asDouble(Double.NaN), h.path("pairs").asInt()));
            }
            if (!rewardRows.isEmpty()) {
                md.append("The reward model as a judge of the base model's CoT-decoding branches on the held-out problems "
                        + "(gold answers used only to judge it): AUROC of its score against each branch's correctness, "
                        + "beside the span confidence's; accuracy when each problem's branch is chosen by its score "
                        + "(best-of-K), beside CoT-decoding's choice by confidence.\n\n");
                md.append("| task | reward AUROC | confidence AUROC | best-of-K by reward | by confidence | branches |\n"
                        + "|---|---|---|---|---|---|\n");
                for (Map<String, Object> r : rewardRows) {
                    md.append(String.format("| %s | %.3f | %.3f | %.1f%% | %.1f%% | %d |%n", r.get("task"),
                            d(r.get("reward_branch_auroc")), d(r.get("confidence_branch_auroc")),
                            100 * d(r.get("reward_best_of_k_accuracy")), 100 * d(r.get("confidence_best_of_k_accuracy")),
                            (Long) r.get("branches")));
                }
                md.append('\n');
            }
        }
        md.append("\n## Pairs\n\n");
        pairLines.forEach(p -> md.append("- ").append(p).append('\n'));
        md.append("\n## Lineage of the RLSF policy\n\n```json\n").append(lineage).append("\n```\n");
        md.append("\n## Configuration\n\n```hocon\n").append(config).append("\n```\n");
        store.writeText(new Path(out, "report.md"), md.toString());
        store.writeText(new Path(out, "report.html"), Html.of("RLSF run report: " + runDir.getName(), md.toString()));
        store.writeText(new Path(out, "results.csv"), csv);
        if (ood) {
            store.writeText(new Path(out, "results-ood.csv"), csv(oodRows));
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("run", runDir.getName());
        json.put("results", rows);
        json.put("targets", checks);
        if (ood) {
            json.put("results_ood", oodRows);
            json.put("targets_ood", oodChecks);
        }
        if (!rewardRows.isEmpty()) {
            json.put("reward_model_on_base_branches", rewardRows);
        }
        if (roundsJson != null) {
            json.put("rounds", roundRows);
            json.put("rounds_kept", roundsJson.get("kept_round").asInt());
            json.put("rounds_statement", roundLines);
        }
        store.writeText(new Path(out, "results.json"), Json.write(json));
        List<String> allChecks = new ArrayList<>(checks);
        allChecks.addAll(oodChecks);
        return new Result(out, table, allChecks);
    }

    private static double[] col(List<Map<String, Object>> rows, String key) {
        return rows.stream().mapToDouble(r -> r.get(key) == null ? Double.NaN : ((Number) r.get(key)).doubleValue()).toArray();
    }

    /** One row per scope (each task, then all) and evaluation. */
    private static List<Map<String, Object>> resultRows(List<String> scopes, List<String> evals, Map<String, JsonNode> summaries) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (String t : scopes) {
            for (String e : evals) {
                JsonNode m = scope(summaries.get(e), t);
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("task", t);
                r.put("model", e);
                for (String k : List.of("accuracy", "ece_10bin_x100", "ece_15bin", "brier", "auroc", "generated_tokens_per_problem",
                        "cot_style_share", "problems")) {
                    r.put(k, m.hasNonNull(k) ? m.get(k).asDouble() : null);
                }
                rows.add(r);
            }
        }
        return rows;
    }

    /** A results row as the console prints it ({@code suffix} after the task: "-ood"). */
    private static String consoleLine(Map<String, Object> r, String suffix) {
        return String.format("%-6s %-18s %8.1f%% %7.2f %7.3f %7.3f %10.1f", r.get("task") + suffix, r.get("model"),
                100 * d(r.get("accuracy")), d(r.get("ece_10bin_x100")), d(r.get("brier")), d(r.get("auroc")),
                d(r.get("generated_tokens_per_problem")));
    }

    private static String csv(List<Map<String, Object>> rows) {
        StringBuilder csv = new StringBuilder("task,model,accuracy,ece_10bin_x100,ece_15bin,brier,auroc,tokens_per_problem,cot_style_share,problems\n");
        for (Map<String, Object> r : rows) {
            csv.append(String.join(",", r.values().stream().map(v -> v == null ? "" : String.valueOf(v)).toList())).append('\n');
        }
        return csv.toString();
    }

    private static void markdownTable(StringBuilder md, List<Map<String, Object>> rows) {
        md.append("| task | model | accuracy | ECE | Brier | AUROC | tokens/problem | CoT style |\n|---|---|---|---|---|---|---|---|\n");
        for (Map<String, Object> r : rows) {
            md.append(String.format("| %s | %s | %.1f%% | %.2f | %.3f | %.3f | %.1f | %.0f%% |%n", r.get("task"), r.get("model"),
                    100 * d(r.get("accuracy")), d(r.get("ece_10bin_x100")), d(r.get("brier")), d(r.get("auroc")),
                    d(r.get("generated_tokens_per_problem")), 100 * d(r.get("cot_style_share"))));
        }
    }

    /** The RLSF targets of each tuned policy against the base, per task ({@code qualifier} follows the task name). */
    private static List<String> targetChecks(Set<String> tasks, List<String> evals, Map<String, JsonNode> summaries,
                                             String qualifier) {
        List<String> checks = new ArrayList<>();
        for (String tuned : evals.subList(2, evals.size())) {
            String label = tuned.equals(PPO_GREEDY) ? "RLSF-PPO greedy" : "RLSF-greedy";
            for (String task : tasks) {
                String t = task + qualifier;
                JsonNode g = scope(summaries.get("base-greedy"), task), c = scope(summaries.get("base-cot-decoding"), task),
                        r = scope(summaries.get(tuned), task);
                double ga = g.get("accuracy").asDouble(), ca = c.get("accuracy").asDouble(), ra = r.get("accuracy").asDouble();
                checks.add(String.format("%s: %s accuracy %.1f%% vs base greedy %.1f%% (target +10 points): %s", t, label,
                        100 * ra, 100 * ga, ra >= ga + 0.10 ? "met" : "not met"));
                checks.add(String.format("%s: %s ECE %.2f vs base greedy %.2f (target <=): %s", t, label,
                        r.get("ece_10bin_x100").asDouble(), g.get("ece_10bin_x100").asDouble(),
                        r.get("ece_10bin_x100").asDouble() <= g.get("ece_10bin_x100").asDouble() ? "met" : "not met"));
                double rt = r.get("generated_tokens_per_problem").asDouble(), ct = c.get("generated_tokens_per_problem").asDouble();
                checks.add(String.format("%s: %s accuracy %.1f%% vs 80%% of base CoT-decoding %.1f%%, at %.1f vs %.1f tokens per problem: %s",
                        t, label, 100 * ra, 100 * ca, rt, ct, ra >= 0.8 * ca && rt < ct ? "met" : "not met"));
            }
        }
        return checks;
    }

    private static JsonNode scope(JsonNode summary, String task) {
        return task.equals("all") ? summary.get("all") : summary.get("by_task").get(task);
    }

    private static double d(Object o) {
        return o == null ? Double.NaN : (Double) o;
    }

    private static double[] series(List<JsonNode> rows, String key) {
        return rows.stream().mapToDouble(n -> n.hasNonNull(key) ? n.get(key).asDouble() : Double.NaN).toArray();
    }

    static Map<String, List<Charts.Bar>> reliability(FileStore store, Path csv) {
        Map<String, List<Charts.Bar>> out = new LinkedHashMap<>();
        if (!store.exists(csv)) {
            return out;
        }
        String[] lines = store.readText(csv).split("\n");
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].split(",", -1);
            if (f.length < 7) {
                continue;
            }
            out.computeIfAbsent(f[1], k -> new ArrayList<>()).add(new Charts.Bar(Double.parseDouble(f[2]), Double.parseDouble(f[3]),
                    Long.parseLong(f[4]), f[5].isEmpty() ? Double.NaN : Double.parseDouble(f[5]),
                    f[6].isEmpty() ? Double.NaN : Double.parseDouble(f[6])));
        }
        return out;
    }

    private static JsonNode read(FileStore store, Path p) {
        return readString(store.readText(p));
    }

    private static JsonNode readString(String s) {
        try {
            return Json.MAPPER.readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeBytes(FileStore store, Path p, byte[] bytes) {
        try (var o = store.create(p)) {
            o.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
