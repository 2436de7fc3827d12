package org.rlsf.pairs;

import org.rlsf.config.PairPolicy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Ranks one prompt's traces by confidence and forms preference pairs (method.md §1.4). Deterministic:
 * candidates are ordered by confidence (descending) then branch, so the same traces always give the
 * same pairs in the same order.
 */
public final class PairBuilder {
    private PairBuilder() {
    }

    /** A chosen/rejected pair with its confidence margin exp(c_chosen − c_rejected). */
    public record Pair(Candidate chosen, Candidate rejected, double margin) {
    }

    /**
     * @param maxPairsPerPrompt cap on pairs per prompt (the highest-margin ones, then by rank); 0 = no cap
     */
    public static List<Pair> build(List<Candidate> candidates, PairPolicy policy, double threshold, int maxPairsPerPrompt) {
        if (maxPairsPerPrompt < 0) {
            throw new IllegalArgumentException("max pairs per prompt must be >= 0, was " + maxPairsPerPrompt);
        }
        List<Candidate> ranked = new ArrayList<>(candidates);
        ranked.sort(Comparator.comparingDouble(Candidate::confidence).reversed().thenComparingInt(Candidate::branch));
        List<Pair> out = new ArrayList<>();
        if (ranked.size() < 2) {
            return out;
        }
        if (policy == PairPolicy.BEST_VS_WORST) {
            Candidate best = ranked.get(0), worst = ranked.get(ranked.size() - 1);
            if (best.confidence() >= threshold && best.confidence() > worst.confidence()) {
                out.add(pair(best, worst));
            }
            return out;
        }
        for (int i = 0; i < ranked.size(); i++) {
            Candidate c = ranked.get(i);
            if (c.confidence() < threshold) {
                break;
            }
            for (int j = i + 1; j < ranked.size(); j++) {
                Candidate r = ranked.get(j);
                if (c.confidence() > r.confidence()) {
                    out.add(pair(c, r));
                }
            }
        }
        if (maxPairsPerPrompt > 0 && out.size() > maxPairsPerPrompt) {
            List<Pair> byMargin = new ArrayList<>(out);
            byMargin.sort(Comparator.comparingDouble(Pair::margin).reversed());
            List<Pair> keep = byMargin.subList(0, maxPairsPerPrompt);
            out.removeIf(p -> !keep.contains(p));
        }
        return out;
    }

    private static Pair pair(Candidate chosen, Candidate rejected) {
        return new Pair(chosen, rejected, Math.exp(chosen.confidence() - rejected.confidence()));
    }
}
