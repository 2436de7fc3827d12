package org.rlsf.evaluate;

import org.junit.jupiter.api.Test;
import org.rlsf.score.TraceRecord;
import org.rlsf.tasks.Problem;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Grading scripted traces (a fake model): known accuracy, ECE and AUROC. */
class EvaluationTest {
    private static final Problem ARITH = new Problem("a-1", "arith", "Tom has 2 pens. Tom gets 3 more. How many pens does Tom have now?", "5", List.of());
    private static final Problem MCQ = new Problem("m-1", "mcq", "Which result is the largest?", "B", List.of("1+1", "2+3", "1+0"));

    private static TraceRecord trace(Problem p, int branch, String text, String answer, double conf) {
        return new TraceRecord(p.problemId(), p.task(), branch, "Q", new int[]{1}, text, new int[]{4, 5, 6}, new float[3],
                answer, 0, 1, conf, 0, 0, new int[0], 0.5, "eos", null);
    }

    @Test
    void cotDecodingPredictsWithTheMostConfidentBranch() {
        ProblemResult r = Evaluation.grade(ARITH, List.of(trace(ARITH, 0, " So the answer is 4.", "4", 0.4),
                trace(ARITH, 1, " Let us count. 2+3=5.", "5", 0.9), trace(ARITH, 2, " 7", "7", 0.9)));
        assertEquals("5", r.prediction());
        assertTrue(r.correct());
        assertEquals(0.9, r.confidence());
        assertEquals(1, r.chosenBranch(), "a tie goes to the lower branch");
        assertEquals(Boolean.TRUE, r.cotStyle());
        assertEquals(9, r.generatedTokens());
        assertArrayEquals(new boolean[]{false, true, false}, r.branchCorrect());
        assertArrayEquals(new boolean[]{false, true, false}, r.branchCotStyle());
    }

    @Test
    void numbersCompareNumericallyAndLettersExactly() {
        assertTrue(Evaluation.grade(ARITH, List.of(trace(ARITH, 0, " 5.0", "5.0", 1))).correct());
        assertTrue(Evaluation.grade(MCQ, List.of(trace(MCQ, 0, " So the correct option is B.", "B", 1))).correct());
        assertFalse(Evaluation.grade(MCQ, List.of(trace(MCQ, 0, " So the correct option is C.", "C", 1))).correct());
        assertFalse(Evaluation.grade(MCQ, List.of(trace(MCQ, 0, " So", null, 0))).correct());
    }

    @Test
    void anUndecodableProblemIsWrongWithZeroConfidence() {
        ProblemResult r = Evaluation.grade(ARITH, List.of(TraceRecord.error("a-1", "arith", "Q", "prompt too long")));
        assertFalse(r.correct());
        assertEquals(0, r.confidence());
        assertEquals("prompt too long", r.error());
        assertNull(r.prediction());
    }

    @Test
    void aScriptedModelGivesKnownMetrics() {
        // four greedy outputs: confidences .95 .85 .62 .15, correct 1 0 1 0 (the method.md ECE vector)
        double[] conf = {0.95, 0.85, 0.62, 0.15};
        String[] answers = {"5", "6", "5", "9"};
        EvalMetrics m = new EvalMetrics();
        for (int i = 0; i < 4; i++) {
            Problem p = new Problem("a-" + i, "arith", ARITH.question(), "5", List.of());
            m.add(Evaluation.grade(p, List.of(trace(p, 0, " So the answer is " + answers[i] + ".", answers[i], conf[i]))));
        }
        assertEquals(0.5, m.accuracy(), 0);
        assertEquals(35.75, m.ece10x100(), 1e-9);
        assertEquals(0.222975, m.brier(), 1e-9);
        assertEquals(0.75, m.auroc(), 1e-12);   // correct {.95,.62} vs wrong {.85,.15}: 3 of 4 orderings
        assertEquals(0.0, m.cotStyleShare(), 0);
    }

    @Test
    void evaluationNeedsGoldAnswers() {
        Problem unlabelled = new Problem("x", "arith", ARITH.question(), null, List.of());
        assertThrows(IllegalArgumentException.class, () -> Evaluation.grade(unlabelled, List.of()));
    }
}
