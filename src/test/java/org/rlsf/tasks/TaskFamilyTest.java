package org.rlsf.tasks;

import org.junit.jupiter.api.Test;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.model.WordTokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TaskFamilyTest {
    private static final Pattern EQUATION = Pattern.compile("(\\d+)([+-])(\\d+)=(\\d+)\\.");

    /** Independent recomputation of an arith gold answer from the question's words. */
    private static int solveArith(String q) {
        Matcher m = Pattern.compile("(has|gets|gives away) (\\d+)").matcher(q);
        int x = 0;
        while (m.find()) {
            x += (m.group(1).equals("gives away") ? -1 : 1) * Integer.parseInt(m.group(2));
        }
        return x;
    }

    @Test
    void arithGoldIsRightAndStepsAreSmallAndDependent() {
        ArithTask task = new ArithTask();
        List<Problem> ps = TaskCorpus.generate(task, 400, 3, TaskCorpus.TRAIN);
        for (Problem p : ps) {
            assertEquals(String.valueOf(solveArith(p.question())), p.answer(), p.question());
            String cot = task.cotSolution(p);
            assertTrue(cot.startsWith(ArithTask.COT_OPENER), cot);
            Matcher m = EQUATION.matcher(cot);
            List<Integer> results = new ArrayList<>();
            Integer previous = null;
            while (m.find()) {
                int a = Integer.parseInt(m.group(1)), b = Integer.parseInt(m.group(3)), c = Integer.parseInt(m.group(4));
                assertEquals(m.group(2).equals("+") ? a + b : a - b, c, "wrong step in " + cot);
                assertTrue(b >= 1 && b <= 9 && c >= 0 && c <= 19, "step too hard: " + m.group());
                if (previous != null) {
                    assertEquals(previous, a, "steps must chain: " + cot);
                }
                previous = c;
                results.add(c);
            }
            assertTrue(results.size() >= 2 && results.size() <= 4, cot);
            assertEquals(p.answer(), String.valueOf(results.get(results.size() - 1)));
            assertFalse(cot.contains("answer"), "CoT must not restate the answer: " + cot);
            assertEquals(" So the answer is " + p.answer() + ".", task.directSolution(p));
        }
    }

    @Test
    void mcqGoldIsRightAndCotProducesTheLetterByAStepNotARestatedAnswer() {
        McqTask task = new McqTask();
        int[] places = new int[5];
        for (Problem p : TaskCorpus.generate(task, 400, 4, TaskCorpus.TRAIN)) {
            assertTrue(p.options().size() >= 3 && p.options().size() <= 5);
            int first = Integer.parseInt(p.options().get(0));
            assertTrue(first >= 0, "no negative option: " + p);
            for (int i = 0; i < p.options().size(); i++) {
                assertEquals(String.valueOf(first + i), p.options().get(i), "consecutive ascending options: " + p);
            }
            int gold = "ABCDE".indexOf(p.answer());
            assertTrue(gold >= 0 && gold < p.options().size());
            places[gold]++;
            int result = solveArith(p.question());
            assertEquals(String.valueOf(result), p.options().get(gold), p.toString());
            String cot = task.cotSolution(p);
            assertTrue(cot.startsWith(ArithTask.COT_OPENER), cot);
            assertTrue(cot.endsWith(" " + result + "-" + first + "=" + gold + " so option " + p.answer() + "."), cot);
            assertFalse(cot.contains("correct option"), "CoT must not restate the answer: " + cot);
            Matcher m = EQUATION.matcher(cot);
            int steps = 0;
            while (m.find()) {
                int a = Integer.parseInt(m.group(1)), b = Integer.parseInt(m.group(3)), c = Integer.parseInt(m.group(4));
                assertEquals(m.group(2).equals("+") ? a + b : a - b, c, cot);
                assertTrue(c >= 0 && c <= 19, "step too hard: " + m.group());
                steps++;
            }
            assertTrue(steps >= 2 && steps <= 3, "2-3 counting steps before the offset step: " + cot);
            assertEquals(Optional.of(p.answer()), AnswerParser.predictOption(cot, p.letters()), "the CoT parses to its letter");
            assertEquals(" So the correct option is " + p.answer() + ".", task.directSolution(p));
        }
        for (int place = 0; place < 3; place++) {
            assertTrue(places[place] > 40, "the result sits at every place: " + java.util.Arrays.toString(places));
        }
    }

    @Test
    void generatorsAreDeterministicPerSeed() {
        for (String name : TaskFamily.names()) {
            TaskFamily t = TaskFamily.of(name);
            assertEquals(TaskCorpus.generate(t, 50, 9, TaskCorpus.TRAIN), TaskCorpus.generate(t, 50, 9, TaskCorpus.TRAIN));
            assertNotEquals(TaskCorpus.generate(t, 50, 9, TaskCorpus.TRAIN), TaskCorpus.generate(t, 50, 10, TaskCorpus.TRAIN));
        }
    }

    @Test
    void cotAndDirectStylesDifferInTheirFirstToken() {
        for (String name : TaskFamily.names()) {
            TaskFamily t = TaskFamily.of(name);
            List<Problem> ps = TaskCorpus.generate(t, 50, 1, TaskCorpus.TRAIN);
            List<String> docs = PretrainingTexts.render(ps, 0.5, 1);
            WordTokenizer tok = WordTokenizer.train(docs, 512);
            for (Problem p : ps) {
                int[] prompt = tok.encode(t.prompt(p));
                int[] cot = tok.encode(t.prompt(p) + t.cotSolution(p));
                int[] direct = tok.encode(t.prompt(p) + t.directSolution(p));
                assertNotEquals(cot[prompt.length], direct[prompt.length]);
                assertEquals(t.prompt(p), tok.decode(java.util.Arrays.copyOf(cot, prompt.length)), "prompt tokens are a prefix");
            }
        }
    }

    /** Out of distribution: the same stories with longer chains than any training problem, graded the same way. */
    @Test
    void outOfDistributionProblemsHaveLongerChainsThanAnyTrainingProblem() {
        for (String name : TaskFamily.names()) {
            TaskFamily t = TaskFamily.of(name);
            int trainMax = 0, oodMin = Integer.MAX_VALUE;
            for (Problem p : TaskCorpus.generate(t, 500, 1, TaskCorpus.TRAIN)) {
                trainMax = Math.max(trainMax, steps(p));
            }
            List<Problem> ood = TaskCorpus.generate(t, 200, 2, TaskCorpus.OOD);
            assertEquals(ood, TaskCorpus.generate(t, 200, 2, TaskCorpus.OOD), "seeded");
            assertEquals(200, ood.stream().map(Problem::contentSha256).distinct().count());
            for (Problem p : ood) {
                oodMin = Math.min(oodMin, steps(p));
                assertTrue(p.problemId().startsWith(name + "-ood-2-"), p.problemId());
                assertTrue(Grader.grade(p.task(), p.answer(), t.cotSolution(p), List.of()).correct(),
                        "its own chain of thought grades as correct: " + p);
                if (name.equals(ArithTask.NAME)) {
                    assertEquals(String.valueOf(solveArith(p.question())), p.answer(), p.question());
                }
            }
            assertTrue(oodMin > trainMax, name + ": out-of-distribution chains (" + oodMin + "+ steps) are longer than "
                    + "training's (at most " + trainMax + ")");
        }
    }

    private static int steps(Problem p) {
        Matcher m = Pattern.compile("(gets|gives away) \\d+").matcher(p.question());
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    @Test
    void trainAndHeldoutAreDisjointByContentHash() {
        for (String name : TaskFamily.names()) {
            TaskFamily t = TaskFamily.of(name);
            java.util.Set<String> train = new java.util.HashSet<>();
            TaskCorpus.generate(t, 2000, 1, TaskCorpus.TRAIN).forEach(p -> train.add(p.contentSha256()));
            List<Problem> held = TaskCorpus.generate(t, 300, 2, TaskCorpus.HELDOUT);
            assertEquals(300, held.stream().map(Problem::contentSha256).distinct().count());
            for (Problem p : held) {
                assertFalse(train.contains(p.contentSha256()), "held-out problem in train: " + p);
                assertEquals(TaskCorpus.HELDOUT, TaskCorpus.splitOf(p));
            }
        }
    }

    @Test
    void pretrainingMixFollowsTheCotFraction() {
        List<Problem> ps = TaskCorpus.generate(new ArithTask(), 1000, 1, TaskCorpus.TRAIN);
        long cot = PretrainingTexts.render(ps, 0.3, 5).stream().filter(d -> d.contains(ArithTask.COT_OPENER)).count();
        assertTrue(cot > 250 && cot < 350, "cot share " + cot + "/1000");
        assertEquals(PretrainingTexts.render(ps, 0.3, 5), PretrainingTexts.render(ps, 0.3, 5));
    }

    @Test
    void theOpenerIsUnscoredOnTheShareOfCotDocumentsOutsideTheOpenerLossFraction() {
        List<Problem> ps = TaskCorpus.generate(new ArithTask(), 1000, 1, TaskCorpus.TRAIN);
        List<PretrainingTexts.Rendered> docs = PretrainingTexts.renderDocuments(ps, 0.6, 0.25, 5);
        // the CoT/direct choice does not depend on the opener share
        assertEquals(PretrainingTexts.render(ps, 0.6, 5), docs.stream().map(PretrainingTexts.Rendered::text).toList());
        long cot = 0, unscored = 0;
        for (int i = 0; i < docs.size(); i++) {
            PretrainingTexts.Rendered d = docs.get(i);
            if (d.text().contains(ArithTask.COT_OPENER)) {
                cot++;
                if (d.unscoredChar() >= 0) {
                    unscored++;
                    assertTrue(d.text().startsWith(ArithTask.COT_OPENER, d.unscoredChar()), d.text());
                    assertEquals(new ArithTask().prompt(ps.get(i)).length(), d.unscoredChar());
                }
            } else {
                assertEquals(-1, d.unscoredChar(), "a direct document is fully trained");
            }
        }
        assertTrue(unscored > 0.68 * cot && unscored < 0.82 * cot, unscored + " of " + cot);
    }

    @Test
    void theElicitationSuffixesEncodeWithATokenizerBuiltWithTheExtras() {
        for (String name : TaskFamily.names()) {
            List<Problem> ps = TaskCorpus.generate(TaskFamily.of(name), 30, 1, TaskCorpus.TRAIN);
            List<String> texts = new ArrayList<>(PretrainingTexts.render(ps, 0.5, 1));
            texts.addAll(Prompts.vocabularyExtras());
            WordTokenizer tok = WordTokenizer.train(texts, 512);
            for (Problem p : ps) {
                String s = Prompts.elicitation(p);
                assertEquals(s, tok.decode(tok.encode(s)));
            }
        }
    }
}
