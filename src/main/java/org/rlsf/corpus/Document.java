package org.rlsf.corpus;

/**
 * One training document and where it came from (for error messages).
 *
 * @param text   the text, never empty
 * @param source file name or URI
 * @param line   1-based line where the document starts
 * @param unscoredChar character offset of a token that is fed to the model but not trained on
 *               (its prediction is masked out of the loss), or −1 for none
 */
public record Document(String text, String source, int line, int unscoredChar) {
    public Document {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException(source + ":" + line + ": empty document");
        }
        if (unscoredChar >= text.length()) {
            throw new IllegalArgumentException(source + ":" + line + ": unscored offset " + unscoredChar
                    + " is past the end of the document");
        }
    }

    public Document(String text, String source, int line) {
        this(text, source, line, -1);
    }

    public String where() {
        return source + ", line " + line;
    }
}
