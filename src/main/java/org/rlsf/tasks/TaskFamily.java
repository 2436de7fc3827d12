package org.rlsf.tasks;

import java.util.List;
import java.util.Random;

/**
 * A built-in task: a seeded problem generator, the one prompt template every stage shares, and two
 * solution renderers (chain-of-thought and direct) used to build the pretraining corpus.
 * The two styles differ in their first token, and the CoT opening carries no task information
 * (method.md §5.3, §5.6).
 */
public interface TaskFamily {
    String name();

    /** One problem drawn from {@code rng}; the id is assigned by the caller. */
    Problem draw(Random rng, String problemId);

    /**
     * A problem generated the same way but outside the range the training and pretraining problems cover (longer
     * step chains): the out-of-distribution evaluation split.
     */
    Problem drawOutOfDistribution(Random rng, String problemId);

    /** The prompt for a problem: {@code Q: <question>\nA:}; the answer starts with a space. */
    default String prompt(Problem p) {
        return Prompts.qa(p);
    }

    /** Chain-of-thought solution (continuation of the prompt). */
    String cotSolution(Problem p);

    /** Direct solution: only the answer sentence. */
    String directSolution(Problem p);

    static TaskFamily of(String name) {
        return switch (name) {
            case ArithTask.NAME -> new ArithTask();
            case McqTask.NAME -> new McqTask();
            default -> throw new IllegalArgumentException("unknown built-in task '" + name + "' (known: "
                    + String.join(", ", names()) + ")");
        };
    }

    static List<String> names() {
        return List.of(ArithTask.NAME, McqTask.NAME);
    }
}
