package org.rlsf.corpus;

/** Malformed corpus input; the message names the file, the line and, where it applies, the field. */
public final class CorpusFormatException extends IllegalArgumentException {
    public CorpusFormatException(String source, int line, String field, String problem) {
        super(source + ", line " + line + (field == null ? "" : ", field '" + field + "'") + ": " + problem);
    }

    public CorpusFormatException(String message) {
        super(message);
    }
}
