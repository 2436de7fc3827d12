package org.rlsf.tasks;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * One problem of a task corpus.
 *
 * @param problemId stable id (task, split, seed and index for generated problems; source id for imports)
 * @param task      task family: arith, mcq, gsm8k, mc (imported multiple choice) or prompts
 * @param question  the question text, without the prompt template
 * @param answer    gold answer (a number for arith/gsm8k, an option letter for multiple choice); null when unknown
 * @param options   option texts for multiple choice, labelled A, B, … in order; empty otherwise
 */
public record Problem(String problemId, String task, String question, String answer, List<String> options)
        implements java.io.Serializable {
    public static final String LETTERS = "ABCDE";

    public Problem {
        if (problemId == null || problemId.isBlank()) {
            throw new IllegalArgumentException("problem_id is empty");
        }
        if (question == null || question.isBlank()) {
            throw new IllegalArgumentException("question is empty (problem " + problemId + ")");
        }
        options = options == null ? List.of() : List.copyOf(options);
        if (options.size() > LETTERS.length()) {
            throw new IllegalArgumentException("at most " + LETTERS.length() + " options, got " + options.size());
        }
    }

    /** Option letters that exist for this problem (A.. in order), empty for free-form answers. */
    public List<String> letters() {
        return java.util.stream.IntStream.range(0, options.size()).mapToObj(i -> String.valueOf(LETTERS.charAt(i))).toList();
    }

    /** SHA-256 of task, question and options: equal content ⇒ equal hash (train/held-out disjointness). */
    public String contentSha256() {
        return contentSha256(task, question, options);
    }

    public static String contentSha256(String task, String question, List<String> options) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(task.getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(question.getBytes(StandardCharsets.UTF_8));
            for (String o : options) {
                md.update((byte) 0);
                md.update(o.getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
