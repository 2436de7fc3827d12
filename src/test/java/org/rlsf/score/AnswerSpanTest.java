package org.rlsf.score;

import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.function.IntPredicate;

import static org.junit.jupiter.api.Assertions.assertEquals;

class AnswerSpanTest {
    private static final int DOT = 90, NEWLINE = 91, EOS = 2;
    private static final IntPredicate IGNORED = Set.of(0, 1, EOS, DOT, NEWLINE)::contains;

    @Test
    void overlapAtTheStartMiddleAndEndOfTheTrace() {
        assertEquals(new Span(0, 2), AnswerSpan.locate(new int[]{7, 8, 20, 21, DOT}, new int[]{7, 8, DOT, EOS}, IGNORED));
        assertEquals(new Span(2, 4), AnswerSpan.locate(new int[]{5, 6, 7, 8, 9}, new int[]{7, 8, DOT}, IGNORED));
        assertEquals(new Span(3, 5), AnswerSpan.locate(new int[]{5, 6, 30, 7, 8}, new int[]{40, 7, 8}, IGNORED));
    }

    @Test
    void noOverlapGivesNone() {
        assertEquals(Span.NONE, AnswerSpan.locate(new int[]{5, 6, DOT}, new int[]{7, 8, DOT, EOS}, IGNORED));
    }

    @Test
    void ignoredTokensNeverFormOrExtendASpan() {
        // "7 ." occurs in both, but the dot is ignored: the span is just 7
        assertEquals(new Span(1, 2), AnswerSpan.locate(new int[]{5, 7, DOT, NEWLINE}, new int[]{7, DOT, NEWLINE}, IGNORED));
        assertEquals(Span.NONE, AnswerSpan.locate(new int[]{DOT, NEWLINE, EOS}, new int[]{DOT, NEWLINE, EOS}, IGNORED));
    }

    @Test
    void repeatedCandidatesTakeTheLongestRunAtItsLastOccurrence() {
        // 6 occurs three times in the trace: the last occurrence wins
        assertEquals(new Span(6, 7), AnswerSpan.locate(new int[]{6, 11, 6, 12, 13, 14, 6, DOT}, new int[]{6, DOT}, IGNORED));
        // the longer run (1 6) beats the single 6 even though a lone 6 occurs later
        assertEquals(new Span(1, 3), AnswerSpan.locate(new int[]{9, 15, 6, 12, 6}, new int[]{15, 6, DOT}, IGNORED));
        // equal lengths: the run that comes first in the continuation wins
        assertEquals(new Span(0, 1), AnswerSpan.locate(new int[]{4, 30, 5}, new int[]{4, 50, 5}, IGNORED));
    }
}
