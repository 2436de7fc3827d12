package org.rlsf.tasks;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Multiple choice with 3–5 options (A–E): a counting story of 2–3 dependent one-digit steps (as in
 * {@link ArithTask}), answered by the letter of the option holding the result. The options are
 * consecutive values in ascending order with the result at a uniform place, so the others are near
 * misses (a slip in any step lands on a wrong option), and the letter is one more subtraction away:
 * the result's offset from the first option.
 * <pre>
 * Q: Ann has 4 pens. Ann gets 3 more. Ann gives away 2. How many pens does Ann have now?
 * Options: A) 4 B) 5 C) 6
 * A: Let us count. 4+3=7. 7-2=5. 5-4=1 so option B.   (CoT: the letter is produced by a step, not restated)
 * A: So the correct option is B.                      (direct)
 * </pre>
 * Earlier versions shuffled the options and looked the result up ("5 is option B."), or copied the
 * options up to the result: the tiny base computed the steps but picked the wrong letter, confidently
 * (docs/results.md "Base-model attempts", rows 1–8).
 */
public final class McqTask implements TaskFamily {
    public static final String NAME = "mcq";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Problem draw(Random rng, String problemId) {
        return draw(rng, problemId, 2, 3);
    }

    /** A story of 4–5 steps: longer than any training or pretraining problem (2–3). */
    @Override
    public Problem drawOutOfDistribution(Random rng, String problemId) {
        return draw(rng, problemId, 4, 5);
    }

    private Problem draw(Random rng, String problemId, int minSteps, int maxSteps) {
        int nOptions = 3 + rng.nextInt(3);
        String who = ArithTask.NAMES.get(rng.nextInt(ArithTask.NAMES.size()));
        String what = ArithTask.THINGS.get(rng.nextInt(ArithTask.THINGS.size()));
        int start = 1 + rng.nextInt(9);
        int nSteps = minSteps + rng.nextInt(maxSteps - minSteps + 1);
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
        // consecutive ascending options (near misses: a slip in any step lands on a neighbour), the
        // result at a uniform place among them, never a negative option
        int place = rng.nextInt(Math.min(nOptions, answer + 1));
        List<String> options = new ArrayList<>();
        for (int i = 0; i < nOptions; i++) {
            options.add(String.valueOf(answer - place + i));
        }
        return new Problem(problemId, NAME, q.toString(), letter(place), options);
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
        // the letter is produced by one more step: the result's offset from the first option
        int first = Integer.parseInt(p.options().get(0));
        int offset = x - first;
        return sb.append(' ').append(x).append('-').append(first).append('=').append(offset)
                .append(" so option ").append(p.answer()).append('.').toString();
    }

    @Override
    public String directSolution(Problem p) {
        return " So the correct option is " + p.answer() + ".";
    }
}
