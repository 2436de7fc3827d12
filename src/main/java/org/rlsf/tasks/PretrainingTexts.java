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

    public static List<String> render(List<Problem> problems, double cotFraction, long seed) {
        if (cotFraction < 0 || cotFraction > 1) {
            throw new IllegalArgumentException("cot-fraction must be in [0,1], was " + cotFraction);
        }
        Random rng = new Random(seed);
        List<String> docs = new ArrayList<>(problems.size());
        for (Problem p : problems) {
            if (p.answer() == null) {
                throw new IllegalArgumentException("problem " + p.problemId() + " has no answer: cannot render a solution");
            }
            TaskFamily task = TaskFamily.of(p.task());
            boolean cot = rng.nextDouble() < cotFraction;
            docs.add(task.prompt(p) + (cot ? task.cotSolution(p) : task.directSolution(p)));
        }
        return docs;
    }
}
