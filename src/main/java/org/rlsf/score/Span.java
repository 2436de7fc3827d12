package org.rlsf.score;

/**
 * A half-open token range [start, end) of a trace (its generated tokens, the forced first token at 0).
 * {@link #NONE} (0, 0) means no answer span was found.
 */
public record Span(int start, int end) {
    public static final Span NONE = new Span(0, 0);

    public Span {
        if (start < 0 || end < start) {
            throw new IllegalArgumentException("bad span [" + start + ", " + end + ")");
        }
    }

    public int length() {
        return end - start;
    }

    public boolean isEmpty() {
        return end == start;
    }
}
