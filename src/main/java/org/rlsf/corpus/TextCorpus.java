package org.rlsf.corpus;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a pretraining corpus of documents:
 * <ul>
 *   <li>JSONL ({@code .jsonl}/{@code .json}): one JSON object per line with a string field {@code text};
 *       blank lines are skipped;</li>
 *   <li>plain text (anything else): documents separated by one or more blank lines; a document's
 *       lines are joined with {@code \n}.</li>
 * </ul>
 * A malformed line fails with the file, line and field; an input with no document is an error.
 */
public final class TextCorpus {
    public static final String TEXT_FIELD = "text";

    private TextCorpus() {
    }

    public static List<Document> read(BufferedReader in, String source) {
        boolean jsonl = source.endsWith(".jsonl") || source.endsWith(".json");
        List<Document> docs = jsonl ? readJsonl(in, source) : readText(in, source);
        if (docs.isEmpty()) {
            throw new CorpusFormatException("corpus " + source + " is empty: no documents found");
        }
        return docs;
    }

    private static List<Document> readJsonl(BufferedReader in, String source) {
        List<Document> docs = new ArrayList<>();
        for (JsonLines.Line line : JsonLines.read(in, source)) {
            JsonNode text = line.require(source).get(TEXT_FIELD);
            if (text == null || text.isNull()) {
                throw new CorpusFormatException(source, line.number(), TEXT_FIELD, "missing");
            }
            if (!text.isTextual()) {
                throw new CorpusFormatException(source, line.number(), TEXT_FIELD, "expected a string, got " + text.getNodeType());
            }
            if (text.asText().isEmpty()) {
                throw new CorpusFormatException(source, line.number(), TEXT_FIELD, "empty string");
            }
            docs.add(new Document(text.asText(), source, line.number()));
        }
        return docs;
    }

    private static List<Document> readText(BufferedReader in, String source) {
        List<Document> docs = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        int start = 0;
        int lineNo = 0;
        try {
            for (String line; (line = in.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) {
                    if (current.length() > 0) {
                        docs.add(new Document(current.toString(), source, start));
                        current.setLength(0);
                    }
                    continue;
                }
                if (current.length() == 0) {
                    start = lineNo;
                } else {
                    current.append('\n');
                }
                current.append(line);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + source + " at line " + (lineNo + 1) + ": " + e.getMessage(), e);
        }
        if (current.length() > 0) {
            docs.add(new Document(current.toString(), source, start));
        }
        return docs;
    }
}
