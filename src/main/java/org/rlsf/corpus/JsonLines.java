package org.rlsf.corpus;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/** JSONL input: one JSON object per non-blank line, each with its line number for error messages. */
public final class JsonLines {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonLines() {
    }

    /**
     * One non-blank line.
     *
     * @param number 1-based line number
     * @param raw    the line as read
     * @param object the parsed object, or null when the line is not a JSON object
     * @param error  why the line is not a JSON object (null when it is)
     */
    public record Line(int number, String raw, ObjectNode object, String error) {
        /** The object, or a {@link CorpusFormatException} naming source and line. */
        public ObjectNode require(String source) {
            if (object == null) {
                throw new CorpusFormatException(source, number, null, error);
            }
            return object;
        }
    }

    public static List<Line> read(BufferedReader in, String source) {
        List<Line> out = new ArrayList<>();
        int lineNo = 0;
        try {
            for (String line; (line = in.readLine()) != null; ) {
                lineNo++;
                if (lineNo == 1 && line.startsWith("\uFEFF")) {   // a UTF-8 byte-order mark, as Windows editors save files
                    line = line.substring(1);
                }
                if (line.isBlank()) {
                    continue;
                }
                out.add(parse(lineNo, line));
            }
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new CorpusFormatException(source, lineNo + 1, null, "not valid UTF-8 (" + e.getMessage()
                    + "): re-save the file as UTF-8");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + source + " at line " + (lineNo + 1) + ": " + e.getMessage(), e);
        }
        return out;
    }

    private static Line parse(int lineNo, String line) {
        try {
            JsonNode node = JSON.readTree(line);
            if (node instanceof ObjectNode obj) {
                return new Line(lineNo, line, obj, null);
            }
            return new Line(lineNo, line, null, "expected a JSON object");
        } catch (JsonProcessingException e) {
            return new Line(lineNo, line, null, "not valid JSON: " + e.getOriginalMessage());
        }
    }
}
