package org.rlsf.tasks;

import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Answer parsing per method.md §2, fixing the reference code: numbers take an optional sign, thousands
 * separators or none ({@code 1234}, {@code 1,234}), decimals, and compare numerically ({@code 18.0}
 * = {@code 18}); multiple choice takes the first standalone option letter among those that exist.
 * For a completion with the elicitation sentence the answer is what follows it; without it, the
 * last number (free form) or the last standalone option letter (multiple choice).
 */
public final class AnswerParser {
    /** A sign counts only when not glued to a preceding word or digit ("10-4" is 10 and 4). */
    private static final Pattern NUMBER =
            Pattern.compile("(?<![0-9A-Za-z.,])([-+]?)\\$?((?:\\d{1,3}(?:,\\d{3})+|\\d+)(?:\\.\\d+)?)(?![0-9]|,\\d)");
    private static final Pattern ANSWER_IS = Pattern.compile("answer is", Pattern.CASE_INSENSITIVE);
    private static final Pattern OPTION_IS = Pattern.compile("option is", Pattern.CASE_INSENSITIVE);
    private static final Pattern GSM8K_GOLD = Pattern.compile("####\\s*(.+?)\\s*$", Pattern.DOTALL);

    private AnswerParser() {
    }

    /** The number a whole string denotes ("1,234", "-3", "18.0", "$5"); empty when it is not one number. */
    public static Optional<BigDecimal> parseNumber(String text) {
        String t = text.trim();
        if (t.endsWith(".")) {
            t = t.substring(0, t.length() - 1);
        }
        Matcher m = NUMBER.matcher(t);
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(toNumber(m));
    }

    private static BigDecimal toNumber(Matcher m) {
        BigDecimal v = new BigDecimal(m.group(2).replace(",", ""));
        v = "-".equals(m.group(1)) ? v.negate() : v;
        v = v.stripTrailingZeros();
        return v.scale() < 0 ? v.setScale(0) : v;
    }

    /** GSM8K gold: the number after {@code ####}. */
    public static BigDecimal gsm8kGold(String answerField) {
        Matcher m = GSM8K_GOLD.matcher(answerField);
        if (!m.find()) {
            throw new IllegalArgumentException("no '#### <number>' line");
        }
        return parseNumber(m.group(1))
                .orElseThrow(() -> new IllegalArgumentException("'#### " + m.group(1) + "' is not a number"));
    }

    /** Free-form prediction: the first number after the last "answer is", else the last number. */
    public static Optional<BigDecimal> predictNumber(String completion) {
        int after = lastEnd(ANSWER_IS, completion);
        if (after >= 0) {
            Matcher m = NUMBER.matcher(completion);
            if (m.find(after)) {
                return Optional.of(toNumber(m));
            }
        }
        Matcher m = NUMBER.matcher(completion);
        BigDecimal last = null;
        while (m.find()) {
            last = toNumber(m);
        }
        return Optional.ofNullable(last);
    }

    /**
     * Multiple-choice prediction among {@code letters}: the first standalone existing letter after the
     * last "option is", else the last standalone existing letter in the completion.
     */
    public static Optional<String> predictOption(String completion, List<String> letters) {
        String allowed = letters.isEmpty() ? Problem.LETTERS : String.join("", letters);
        Pattern letter = Pattern.compile("(?<![A-Za-z0-9])([" + allowed + "])(?![A-Za-z0-9])");
        int after = lastEnd(OPTION_IS, completion);
        if (after >= 0) {
            Matcher m = letter.matcher(completion);
            if (m.find(after)) {
                return Optional.of(m.group(1));
            }
        }
        Matcher m = letter.matcher(completion);
        String last = null;
        while (m.find()) {
            last = m.group(1);
        }
        return Optional.ofNullable(last);
    }

    /** Gold vs predicted for a problem: numerically for free-form answers, by letter for multiple choice. */
    public static boolean correct(Problem p, String completion) {
        if (p.answer() == null) {
            throw new IllegalArgumentException("problem " + p.problemId() + " has no gold answer");
        }
        if (!p.options().isEmpty()) {
            return predictOption(completion, p.letters()).map(p.answer()::equals).orElse(false);
        }
        Optional<BigDecimal> gold = parseNumber(p.answer());
        Optional<BigDecimal> pred = predictNumber(completion);
        return gold.isPresent() && pred.isPresent() && gold.get().compareTo(pred.get()) == 0;
    }

    private static int lastEnd(Pattern p, String s) {
        Matcher m = p.matcher(s);
        int end = -1;
        while (m.find()) {
            end = m.end();
        }
        return end;
    }
}
