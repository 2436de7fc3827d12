package org.rlsf.tasks;

import java.util.List;

/**
 * The prompt templates, shared by every stage (generation, pairs, training, evaluation) and by
 * imported corpora. Free-form: {@code Q: <question>\nA:}. Multiple choice adds the options on one
 * line: {@code Q: <question>\nOptions: A) x B) y C) z\nA:}. Completions start with a space.
 */
public final class Prompts {
    public static final String ARITH_ELICITATION = " So the answer is";

    private Prompts() {
    }

    public static String qa(Problem p) {
        return "Q: " + question(p) + "\nA:";
    }

    /**
     * The question without the {@code Q:}/{@code A:} frame, multiple choice with its options line: the user's message
     * when the model's chat template frames the prompt.
     */
    public static String question(Problem p) {
        StringBuilder sb = new StringBuilder(p.question());
        if (!p.options().isEmpty()) {
            sb.append("\nOptions:");
            for (int i = 0; i < p.options().size(); i++) {
                sb.append(' ').append(Problem.LETTERS.charAt(i)).append(") ").append(p.options().get(i));
            }
        }
        return sb.toString();
    }

    /**
     * Texts every task model must be able to encode although the pretraining documents may never
     * contain them (the elicitation suffixes): the tokenizer is built with them.
     */
    public static List<String> vocabularyExtras() {
        return List.of(ARITH_ELICITATION + " 0123456789.",
                " Available options are: A, B, C, D, E. So the correct option is A.");
    }

    /** method.md §1.2: the answer-elicitation suffix per task (only the option letters that exist). */
    public static String elicitation(Problem p) {
        if (p.options().isEmpty()) {
            return ARITH_ELICITATION;
        }
        return " Available options are: " + String.join(", ", p.letters()) + ". So the correct option is";
    }
}
