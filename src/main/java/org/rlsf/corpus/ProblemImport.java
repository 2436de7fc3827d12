package org.rlsf.corpus;

import com.fasterxml.jackson.databind.JsonNode;
import org.rlsf.tasks.AnswerParser;
import org.rlsf.tasks.Problem;

import java.io.BufferedReader;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Importers for real datasets, one JSONL row per problem:
 * <ul>
 *   <li>{@code gsm8k}: {@code question}, {@code answer} ending in {@code #### N} (gold = N, parsed per method.md §2);</li>
 *   <li>{@code mc-jsonl}: the ARC / CommonsenseQA shape — {@code question} (a string, or an object with
 *       {@code stem} and {@code choices}), {@code choices} with {@code label}/{@code text} lists (or a list
 *       of {@code {label, text}}), and {@code answerKey}; labels are re-lettered A.. in order;</li>
 *   <li>{@code prompts}: {@code prompt} (or {@code question}), no answer.</li>
 * </ul>
 * An optional {@code id} field becomes the problem id (else {@code <task>-<line>}). A malformed row is an
 * error naming file, line and field — or, with {@code skipBadRows}, a {@link BadRow} kept for a side file.
 */
public final class ProblemImport {
    public static final List<String> FORMATS = List.of("gsm8k", "mc-jsonl", "prompts");

    private ProblemImport() {
    }

    /** A row that was not imported, and why. */
    public record BadRow(int line, String field, String reason, String raw) {
    }

    public record Result(List<Problem> problems, List<BadRow> badRows) {
    }

    public static Result read(String format, BufferedReader in, String source, boolean skipBadRows) {
        if (!FORMATS.contains(format)) {
            throw new IllegalArgumentException("unknown import format '" + format + "' (known: " + FORMATS + ")");
        }
        List<Problem> problems = new ArrayList<>();
        List<BadRow> bad = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (JsonLines.Line line : JsonLines.read(in, source)) {
            try {
                if (line.object() == null) {
                    throw new RowException(null, line.error());
                }
                Problem p = parse(format, line.object(), line.number());
                if (!ids.add(p.problemId())) {
                    throw new RowException("id", "duplicate id '" + p.problemId() + "'");
                }
                problems.add(p);
            } catch (RowException e) {
                if (!skipBadRows) {
                    throw new CorpusFormatException(source, line.number(), e.field, e.getMessage());
                }
                bad.add(new BadRow(line.number(), e.field, e.getMessage(), line.raw()));
            }
        }
        if (problems.isEmpty() && bad.isEmpty()) {
            throw new CorpusFormatException("input " + source + " is empty: no rows found");
        }
        return new Result(problems, bad);
    }

    private static Problem parse(String format, JsonNode row, int lineNo) {
        String task = format.equals("mc-jsonl") ? "mc" : format;
        String id = row.hasNonNull("id") ? row.get("id").asText() : task + "-" + lineNo;
        return switch (format) {
            case "gsm8k" -> {
                String q = text(row, "question");
                String a = text(row, "answer");
                String gold;
                try {
                    gold = AnswerParser.gsm8kGold(a).toPlainString();
                } catch (IllegalArgumentException e) {
                    throw new RowException("answer", e.getMessage());
                }
                yield new Problem(id, task, q, gold, List.of());
            }
            case "prompts" -> new Problem(id, task, row.has("prompt") ? text(row, "prompt") : text(row, "question"), null, List.of());
            default -> multipleChoice(row, id, task);
        };
    }

    private static Problem multipleChoice(JsonNode row, String id, String task) {
        JsonNode qNode = row.get("question");
        String question;
        JsonNode choices = row.get("choices");
        if (qNode != null && qNode.isObject()) {          // original CommonsenseQA: question.stem / question.choices
            question = text(qNode, "stem");
            choices = qNode.get("choices");
        } else {
            question = text(row, "question");
        }
        List<String> labels = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        if (choices == null || choices.isNull()) {
            throw new RowException("choices", "missing");
        } else if (choices.isObject()) {                   // HF ARC/CSQA: {label: [...], text: [...]}
            choices.path("label").forEach(n -> labels.add(n.asText()));
            choices.path("text").forEach(n -> texts.add(n.asText()));
        } else if (choices.isArray()) {                    // [{label, text}, ...]
            for (JsonNode c : choices) {
                labels.add(c.path("label").asText(""));
                texts.add(c.path("text").asText(""));
            }
        } else {
            throw new RowException("choices", "expected an object with label/text lists or a list");
        }
        if (labels.size() != texts.size() || labels.size() < 2 || labels.size() > Problem.LETTERS.length()) {
            throw new RowException("choices", "expected 2–" + Problem.LETTERS.length() + " labels with as many texts, got "
                    + labels.size() + " labels and " + texts.size() + " texts");
        }
        String key = text(row, "answerKey");
        int idx = labels.indexOf(key);
        if (idx < 0) {
            throw new RowException("answerKey", "'" + key + "' is not one of the labels " + labels);
        }
        return new Problem(id, task, question, String.valueOf(Problem.LETTERS.charAt(idx)), texts);
    }

    private static String text(JsonNode row, String field) {
        JsonNode n = row.get(field);
        if (n == null || n.isNull()) {
            throw new RowException(field, "missing");
        }
        if (!n.isTextual()) {
            throw new RowException(field, "expected a string, got " + n.getNodeType());
        }
        if (n.asText().isBlank()) {
            throw new RowException(field, "empty");
        }
        return n.asText();
    }

    private static final class RowException extends RuntimeException {
        final String field;

        RowException(String field, String message) {
            super(message);
            this.field = field;
        }
    }
}
