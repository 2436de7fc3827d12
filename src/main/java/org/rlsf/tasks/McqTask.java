package org.rlsf.tasks;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;

/**
 * Multiple choice with 3–5 options (A–E): a counting story of 2–3 dependent one-digit steps (as in
 * {@link ArithTask}), answered by the letter of the option holding the result. The distractors are
 * near misses (result ± 1..4), so a slip in any step lands on a wrong option.
 * <pre>
 * Q: Ann has 4 pens. Ann gets 3 more. Ann gives away 2. How many pens does Ann have now?
 * Options: A) 6 B) 5 C) 9
 * A: Let us count. 4+3=7. 7-2=5. 5 is option B.      (CoT: the letter is produced by the lookup, not restated)
 * A: So the correct option is B.                      (direct)
 * </pre>
 * Version 1 of this task also asked "Which result is the largest?" and ended its CoT with a restated
 * "So the correct option is X.": the tiny base computed the steps but could not map results to letters
 * (its own CoT path was right 29% of the time, below the direct answers), see README "Base-model attempts".
 */
public final class McqTask implements TaskFamily {
    public static final String NAME = "mcq";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Problem draw(Random rng, String problemId) {
        int nOptions = 3 + rng.nextInt(3);
        String who = ArithTask.NAMES.get(rng.nextInt(ArithTask.NAMES.size()));
        String what = ArithTask.THINGS.get(rng.nextInt(ArithTask.THINGS.size()));
        int start = 1 + rng.nextInt(9);
        int nSteps = 2 + rng.nextInt(2);
        StringBuilder q = new StringBuilder(who + " has " + start + " " + what + ".");
        int x = start, steps = 0;
        while (steps < nSteps) {
            boolean gets = rng.nextBoolean();
            int a = 1 + rng.nextInt(9);
            int y = gets ? x + a : x - a;
            if (y < 0 || y > ArithTask.MAX_VALUE) {
                continue;
            }
            q.append(' ').append(who).append(gets ? " gets " + a + " more." : " gives away " + a + ".");
            x = y;
            steps++;
        }
        q.append(" How many ").append(what).append(" does ").append(who).append(" have now?");
        int answer = x;
        List<Integer> distractors = new ArrayList<>();       // near misses: answer ± 1..4, never negative
        for (int d = Math.max(0, answer - 4); d <= answer + 4; d++) {
            if (d != answer) {
                distractors.add(d);
            }
        }
        Collections.shuffle(distractors, rng);
        List<Integer> values = new ArrayList<>();
        values.add(answer);
        values.addAll(distractors.subList(0, nOptions - 1));
        Collections.shuffle(values, rng);
        List<String> options = values.stream().map(String::valueOf).toList();
        return new Problem(problemId, NAME, q.toString(), letter(values.indexOf(answer)), options);
    }

    static String letter(int index) {
        return String.valueOf(Problem.LETTERS.charAt(index));
    }

    @Override
    public String cotSolution(Problem p) {
        List<Integer> v = ArithTask.values(p);
        StringBuilder sb = new StringBuilder(ArithTask.COT_OPENER);
        int x = v.get(0);
        for (int i = 1; i < v.size(); i++) {
            int y = x + v.get(i);
            sb.append(' ').append(x).append(v.get(i) >= 0 ? "+" : "-").append(Math.abs(v.get(i))).append('=').append(y).append('.');
            x = y;
        }
        return sb.append(' ').append(x).append(" is option ").append(p.answer()).append('.').toString();
    }

    @Override
    public String directSolution(Problem p) {
        return " So the correct option is " + p.answer() + ".";
    }
}
