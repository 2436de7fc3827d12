package org.rlsf.tasks;

import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;

/**
 * Grades another system's completions with exactly our parsing rules ({@link AnswerParser}).
 * Gold answers: GSM8K form ({@code … #### N}) or a plain number for free-form tasks; an option letter
 * for multiple choice.
 */
public final class Grader {
    public static final List<String> TASKS = List.of("gsm8k", "arith", "mcq");

    private Grader() {
    }

    /** @param prediction the parsed prediction, or null when none could be parsed */
    public record Grade(String prediction, boolean correct) {
    }

    /**
     * @param letters option letters that exist (multiple choice); empty means A–E
     * @throws IllegalArgumentException when the gold answer itself cannot be parsed
     */
    public static Grade grade(String task, String gold, String completion, List<String> letters) {
        if (!TASKS.contains(task)) {
            throw new IllegalArgumentException("unknown task '" + task + "' (known: " + TASKS + ")");
        }
        if (task.equals("mcq")) {
            String g = gold.trim();
            if (!g.matches("[A-E]")) {
                throw new IllegalArgumentException("gold answer '" + gold + "' is not an option letter A–E");
            }
            Optional<String> p = AnswerParser.predictOption(completion, letters);
            return new Grade(p.orElse(null), p.map(g::equals).orElse(false));
        }
        BigDecimal g = gold.contains("####") ? AnswerParser.gsm8kGold(gold)
                : AnswerParser.parseNumber(gold).orElseThrow(() -> new IllegalArgumentException(
                        "gold answer '" + gold + "' is not a number"));
        Optional<BigDecimal> p = AnswerParser.predictNumber(completion);
        return new Grade(p.map(BigDecimal::toPlainString).orElse(null), p.map(x -> x.compareTo(g) == 0).orElse(false));
    }
}
