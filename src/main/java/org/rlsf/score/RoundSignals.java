package org.rlsf.score;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What can be known about a model without gold answers, from the CoT-decoding traces it wrote on unlabelled prompts:
 * how many of its branches are confident, how often its branches agree on an answer, how its confidence is spread,
 * how long it writes. Read per RLSF round to see where self-feedback helps and where it starts to feed on itself;
 * never reads a gold answer (plain Java, {@code LabelFreeTest}).
 *
 * @param prompts           prompts traced
 * @param branches          branches traced
 * @param confidentShare    share of branches whose span confidence is at least the pairs threshold
 * @param agreement         mean over prompts of the share of its branches that give the prompt's most common answer
 *                          (a branch without an answer agrees with nothing)
 * @param meanConfidence    mean span confidence
 * @param confidenceEntropy entropy of the confidence histogram (10 equal bins on [0, 1]) over ln 10: 1 = spread evenly,
 *                          0 = all in one bin
 * @param meanTraceTokens   mean generated tokens per branch
 * @param greedyTraceTokens mean generated tokens of branch 0 (the greedy path)
 */
public record RoundSignals(int prompts, int branches, double confidentShare, double agreement, double meanConfidence,
                           double confidenceEntropy, double meanTraceTokens, double greedyTraceTokens) {

    /** One traced branch, as much of it as the signals read. */
    public record Branch(String promptId, int branch, String answer, double confidence, int traceTokens) {
    }

    public static RoundSignals of(List<Branch> traced, double threshold) {
        if (traced.isEmpty()) {
            throw new IllegalArgumentException("no traces to read signals from");
        }
        Map<String, List<Branch>> byPrompt = new LinkedHashMap<>();
        for (Branch b : traced) {
            byPrompt.computeIfAbsent(b.promptId(), k -> new ArrayList<>()).add(b);
        }
        double confident = 0, confidence = 0, tokens = 0, greedyTokens = 0, agreement = 0;
        int greedy = 0;
        int[] bins = new int[10];
        for (Branch b : traced) {
            confident += b.confidence() >= threshold ? 1 : 0;
            confidence += b.confidence();
            tokens += b.traceTokens();
            if (b.branch() == 0) {
                greedyTokens += b.traceTokens();
                greedy++;
            }
            bins[Math.min(9, Math.max(0, (int) Math.floor(b.confidence() * 10)))]++;
        }
        for (List<Branch> branches : byPrompt.values()) {
            Map<String, Integer> counts = new HashMap<>();
            for (Branch b : branches) {
                if (b.answer() != null && !b.answer().isBlank()) {
                    counts.merge(b.answer().trim(), 1, Integer::sum);
                }
            }
            int top = counts.values().stream().mapToInt(Integer::intValue).max().orElse(0);
            agreement += (double) top / branches.size();
        }
        double entropy = 0;
        for (int c : bins) {
            if (c > 0) {
                double p = (double) c / traced.size();
                entropy -= p * Math.log(p);
            }
        }
        int n = traced.size();
        return new RoundSignals(byPrompt.size(), n, confident / n, agreement / byPrompt.size(), confidence / n,
                entropy / Math.log(10), tokens / n, greedy == 0 ? Double.NaN : greedyTokens / greedy);
    }
}
