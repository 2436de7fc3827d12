package org.rlsf.corpus;

/**
 * One training document and where it came from (for error messages).
 *
 * @param text   the text, never empty
 * @param source file name or URI
 * @param line   1-based line where the document starts
 */
public record Document(String text, String source, int line) {
    public Document {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException(source + ":" + line + ": empty document");
        }
    }

    public String where() {
        return source + ", line " + line;
    }
}
