package org.rlsf.tasks;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Pretraining documents from a built-in task corpus: prompt + solution, where each problem gets its
 * chain-of-thought solution with probability {@code cotFraction} and its direct solution otherwise
 * (seeded, so the same corpus and seed give the same documents).
 */
public final class PretrainingTexts {
    private PretrainingTexts() {
    }

    /**
     * One rendered document.
     *
     * @param text         prompt + solution
     * @param unscoredChar character offset of the solution's first token when that token is to be fed
     *                     but not trained (a CoT opener outside the opener-loss share), else −1
     */
    public record Rendered(String text, int unscoredChar) {
    }

    public static List<String> render(List<Problem> problems, double cotFraction, long seed) {
        return renderDocuments(problems, cotFraction, 1.0, seed).stream().map(Rendered::text).toList();
    }

    /**
     * Renders every problem; of the chain-of-thought documents, a share {@code 1 − openerLossFraction}
     * (drawn from a second seeded stream, so the CoT/direct choice does not depend on it) marks its
     * opener as unscored (method.md §5.6: greedy keeps the direct style while the CoT is learnt).
     */
    public static List<Rendered> renderDocuments(List<Problem> problems, double cotFraction,
                                                 double openerLossFraction, long seed) {
        if (cotFraction < 0 || cotFraction > 1) {
            throw new IllegalArgumentException("cot-fraction must be in [0,1], was " + cotFraction);
        }
        if (openerLossFraction < 0 || openerLossFraction > 1) {
            throw new IllegalArgumentException("cot-opener-loss-fraction must be in [0,1], was " + openerLossFraction);
        }
        Random rng = new Random(seed);
        Random openerRng = new Random(seed ^ 0x5DEECE66DL);
        List<Rendered> docs = new ArrayList<>(problems.size());
        for (Problem p : problems) {
            if (p.answer() == null) {
                throw new IllegalArgumentException("problem " + p.problemId() + " has no answer: cannot render a solution");
            }
            TaskFamily task = TaskFamily.of(p.task());
            boolean cot = rng.nextDouble() < cotFraction;
            String prompt = task.prompt(p);
            if (cot) {
                boolean scoreOpener = openerRng.nextDouble() < openerLossFraction;
                docs.add(new Rendered(prompt + task.cotSolution(p), scoreOpener ? -1 : prompt.length()));
            } else {
                docs.add(new Rendered(prompt + task.directSolution(p), -1));
            }
        }
        return docs;
    }
}
