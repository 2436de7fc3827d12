package org.rlsf.score;

import java.util.function.IntPredicate;

/**
 * Locates a trace's answer span (method.md §1.2): the longest contiguous run of the elicited
 * continuation's tokens that also occurs in the trace, where no token of the run is ignored
 * (pad/eos/bos, newline, "."). Among runs of equal length the one that starts earliest in the
 * continuation wins; when the run occurs more than once in the trace, the last occurrence is taken
 * (where the answer is produced, not where an operand is copied: §5.2).
 */
public final class AnswerSpan {
    private AnswerSpan() {
    }

    /** @return the span in {@code trace}, or {@link Span#NONE} when they share no non-ignored token */
    public static Span locate(int[] trace, int[] elicited, IntPredicate ignored) {
        int bestLen = 0;
        int bestEnd = -1;
        // dp over (i in elicited, j in trace): length of the common run ending at both
        int[] prev = new int[trace.length + 1];
        int[] cur = new int[trace.length + 1];
        int bestI = Integer.MAX_VALUE;
        for (int i = 1; i <= elicited.length; i++) {
            for (int j = 1; j <= trace.length; j++) {
                int tok = elicited[i - 1];
                cur[j] = (tok == trace[j - 1] && !ignored.test(tok)) ? prev[j - 1] + 1 : 0;
                int len = cur[j];
                if (len == 0) {
                    continue;
                }
                int startInElicited = i - len;
                boolean longer = len > bestLen;
                boolean sameRunLaterInTrace = len == bestLen && startInElicited == bestI && j > bestEnd;
                if (longer || sameRunLaterInTrace) {
                    bestLen = len;
                    bestEnd = j;
                    bestI = startInElicited;
                }
            }
            int[] t = prev;
            prev = cur;
            cur = t;
            java.util.Arrays.fill(cur, 0);
        }
        return bestLen == 0 ? Span.NONE : new Span(bestEnd - bestLen, bestEnd);
    }
}
