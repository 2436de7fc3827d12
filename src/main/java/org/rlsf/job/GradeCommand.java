package org.rlsf.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.rlsf.corpus.CorpusFormatException;
import org.rlsf.corpus.JsonLines;
import org.rlsf.io.FileStore;
import org.rlsf.tasks.Grader;
import org.rlsf.tasks.Problem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "grade", mixinStandardHelpOptions = true,
        description = "Score any model's completions with rlsf's answer-parsing rules (JSONL in, JSONL + accuracy out).")
final class GradeCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(GradeCommand.class);

    @Option(names = "--task", required = true, paramLabel = "TASK", description = "gsm8k | arith | mcq.")
    String task;

    @Option(names = "--input", required = true, paramLabel = "FILE",
            description = "JSONL rows with question, answer (gold; GSM8K form allowed), completion; optional options (mcq).")
    String input;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The rows with prediction and correct added.")
    String out;

    @Override
    public Integer call() throws IOException {
        if (!Grader.TASKS.contains(task)) {
            throw new IllegalArgumentException("unknown task '" + task + "' (known: " + Grader.TASKS + ")");
        }
        FileStore store = FileStore.local();
        ObjectMapper json = new ObjectMapper();
        StringBuilder outText = new StringBuilder();
        int rows = 0;
        int correct = 0;
        try (BufferedReader in = store.openText(FileStore.path(input))) {
            for (JsonLines.Line line : JsonLines.read(in, input)) {
                ObjectNode obj = line.require(input);
                int lineNo = line.number();
                String gold = field(obj, "answer", lineNo);
                String completion = field(obj, "completion", lineNo);
                List<String> letters = new ArrayList<>();
                if (obj.has("options") && obj.get("options").isArray()) {
                    for (int i = 0; i < obj.get("options").size() && i < Problem.LETTERS.length(); i++) {
                        letters.add(String.valueOf(Problem.LETTERS.charAt(i)));
                    }
                }
                Grader.Grade g;
                try {
                    g = Grader.grade(task, gold, completion, letters);
                } catch (IllegalArgumentException e) {
                    throw new CorpusFormatException(input, lineNo, "answer", e.getMessage());
                }
                obj.put("prediction", g.prediction());
                obj.put("correct", g.correct());
                outText.append(json.writeValueAsString(obj)).append('\n');
                rows++;
                correct += g.correct() ? 1 : 0;
            }
        }
        if (rows == 0) {
            throw new CorpusFormatException("input " + input + " is empty: no rows found");
        }
        store.writeText(FileStore.path(out), outText.toString());
        LOG.info(String.format("graded %d rows: accuracy %.4f (%d correct); written to %s", rows, correct / (double) rows, correct, out));
        return 0;
    }

    private String field(ObjectNode row, String name, int lineNo) {
        JsonNode n = row.get(name);
        if (n == null || n.isNull()) {
            throw new CorpusFormatException(input, lineNo, name, "missing");
        }
        return n.isTextual() ? n.asText() : n.toString();
    }
}
