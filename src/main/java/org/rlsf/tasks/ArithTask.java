package org.rlsf.tasks;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Arithmetic word problems with 2–4 dependent steps on small integers: a start value 1–9, then
 * steps "gets a more" / "gives away a" with a in 1–9 and every intermediate result in 0–19, so each
 * step is a one-digit operation the base model can learn reliably (method.md §5.1, §5.6).
 * <pre>
 * Q: Tom has 7 apples. Tom gets 3 more. Tom gives away 4. How many apples does Tom have now?
 * A: Let us count. 7+3=10. 10-4=6.        (chain of thought: no restated answer, §5.2)
 * A: So the answer is 6.                   (direct)
 * </pre>
 */
public final class ArithTask implements TaskFamily {
    public static final String NAME = "arith";
    public static final String COT_OPENER = " Let us count.";
    static final List<String> NAMES = List.of("Tom", "Ann", "Sam", "Mia", "Leo", "Eva", "Ben", "Zoe");
    static final List<String> THINGS = List.of("apples", "pens", "books", "coins", "cards", "shells", "stamps", "marbles");
    static final int MAX_VALUE = 19;

    /** One step: +a or −a. */
    record Step(boolean gets, int amount) {
        int apply(int x) {
            return gets ? x + amount : x - amount;
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Problem draw(Random rng, String problemId) {
        return draw(rng, problemId, 2, 4);
    }

    /** 5–6 steps: longer chains than any training or pretraining problem (2–4). */
    @Override
    public Problem drawOutOfDistribution(Random rng, String problemId) {
        return draw(rng, problemId, 5, 6);
    }

    private Problem draw(Random rng, String problemId, int minSteps, int maxSteps) {
        String who = NAMES.get(rng.nextInt(NAMES.size()));
        String what = THINGS.get(rng.nextInt(THINGS.size()));
        int start = 1 + rng.nextInt(9);
        int nSteps = minSteps + rng.nextInt(maxSteps - minSteps + 1);
        List<Step> steps = new ArrayList<>();
        int x = start;
        while (steps.size() < nSteps) {
            boolean gets = rng.nextBoolean();
            int a = 1 + rng.nextInt(9);
            int y = gets ? x + a : x - a;
            if (y < 0 || y > MAX_VALUE) {
                continue;
            }
            steps.add(new Step(gets, a));
            x = y;
        }
        StringBuilder q = new StringBuilder(who + " has " + start + " " + what + ".");
        for (Step s : steps) {
            q.append(' ').append(who).append(s.gets() ? " gets " + s.amount() + " more." : " gives away " + s.amount() + ".");
        }
        q.append(" How many ").append(what).append(" does ").append(who).append(" have now?");
        return new Problem(problemId, NAME, q.toString(), String.valueOf(x), List.of());
    }

    /** Recovers start value and steps from the question text (so renderers need only the problem). */
    static List<Integer> values(Problem p) {
        List<Integer> out = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(has|gets|gives away) (\\d+)").matcher(p.question());
        while (m.find()) {
            int v = Integer.parseInt(m.group(2));
            out.add(m.group(1).equals("gives away") ? -v : v);
        }
        return out;
    }

    @Override
    public String cotSolution(Problem p) {
        List<Integer> v = values(p);
        StringBuilder sb = new StringBuilder(COT_OPENER);
        int x = v.get(0);
        for (int i = 1; i < v.size(); i++) {
            int y = x + v.get(i);
            sb.append(' ').append(x).append(v.get(i) >= 0 ? "+" : "-").append(Math.abs(v.get(i))).append('=').append(y).append('.');
            x = y;
        }
        return sb.toString();
    }

    @Override
    public String directSolution(Problem p) {
        return Prompts.ARITH_ELICITATION + " " + p.answer() + ".";
    }
}
