package org.rlsf.tasks;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;

/**
 * Multiple choice with 3–5 options (A–E) whose correct choice needs a small computation or a
 * comparison. Two shapes, equally likely:
 * <pre>
 * Q: Ann has 4 pens and gets 3 more. How many pens does Ann have?
 * Options: A) 6 B) 7 C) 9
 * A: Let us count. 4+3=7. So the correct option is B.        (CoT)
 *
 * Q: Which sum is the largest?
 * Options: A) 3+4 B) 2+6 C) 9-5
 * A: Let us count. 3+4=7. 2+6=8. 9-5=4. So the correct option is B.
 * A: So the correct option is B.                               (direct)
 * </pre>
 */
public final class McqTask implements TaskFamily {
    public static final String NAME = "mcq";
    static final String LARGEST = "Which result is the largest?";
    static final String SMALLEST = "Which result is the smallest?";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Problem draw(Random rng, String problemId) {
        int nOptions = 3 + rng.nextInt(3);
        return rng.nextBoolean() ? compute(rng, problemId, nOptions) : compare(rng, problemId, nOptions);
    }

    private Problem compute(Random rng, String id, int nOptions) {
        String who = ArithTask.NAMES.get(rng.nextInt(ArithTask.NAMES.size()));
        String what = ArithTask.THINGS.get(rng.nextInt(ArithTask.THINGS.size()));
        boolean gets = rng.nextBoolean();
        int a = 1 + rng.nextInt(9);
        int b = 1 + rng.nextInt(9);
        if (!gets && b > a) {
            int t = a;
            a = b;
            b = t;
        }
        int answer = gets ? a + b : a - b;
        List<Integer> distractors = new ArrayList<>();       // near misses: answer ± 1..4, never negative
        for (int d = Math.max(0, answer - 4); d <= answer + 4; d++) {
            if (d != answer) {
                distractors.add(d);
            }
        }
        Collections.shuffle(distractors, rng);
        LinkedHashSet<Integer> values = new LinkedHashSet<>();
        values.add(answer);
        values.addAll(distractors.subList(0, nOptions - 1));
        List<Integer> shuffled = new ArrayList<>(values);
        Collections.shuffle(shuffled, rng);
        String q = who + " has " + a + " " + what + (gets ? " and gets " + b + " more." : " and gives away " + b + ".")
                + " How many " + what + " does " + who + " have?";
        List<String> options = shuffled.stream().map(String::valueOf).toList();
        return new Problem(id, NAME, q, letter(shuffled.indexOf(answer)), options);
    }

    private Problem compare(Random rng, String id, int nOptions) {
        boolean largest = rng.nextBoolean();
        List<String> options = new ArrayList<>();
        List<Integer> results = new ArrayList<>();
        while (options.size() < nOptions) {
            int a = 1 + rng.nextInt(9);
            int b = 1 + rng.nextInt(9);
            boolean plus = rng.nextBoolean() || b > a;
            int r = plus ? a + b : a - b;
            if (results.contains(r)) {
                continue;   // a unique extreme needs distinct results
            }
            options.add(a + (plus ? "+" : "-") + b);
            results.add(r);
        }
        int best = 0;
        for (int i = 1; i < results.size(); i++) {
            if (largest ? results.get(i) > results.get(best) : results.get(i) < results.get(best)) {
                best = i;
            }
        }
        return new Problem(id, NAME, largest ? LARGEST : SMALLEST, letter(best), options);
    }

    static String letter(int index) {
        return String.valueOf(Problem.LETTERS.charAt(index));
    }

    @Override
    public String cotSolution(Problem p) {
        StringBuilder sb = new StringBuilder(ArithTask.COT_OPENER);
        if (p.question().equals(LARGEST) || p.question().equals(SMALLEST)) {
            for (String expr : p.options()) {
                sb.append(' ').append(expr).append('=').append(evaluate(expr)).append('.');
            }
        } else {
            List<Integer> v = ArithTask.values(p);
            int y = v.get(0) + v.get(1);
            sb.append(' ').append(v.get(0)).append(v.get(1) >= 0 ? "+" : "-").append(Math.abs(v.get(1))).append('=').append(y).append('.');
        }
        return sb.append(directSolution(p)).toString();
    }

    @Override
    public String directSolution(Problem p) {
        return " So the correct option is " + p.answer() + ".";
    }

    static int evaluate(String expr) {
        int op = Math.max(expr.indexOf('+'), expr.indexOf('-'));
        int a = Integer.parseInt(expr.substring(0, op));
        int b = Integer.parseInt(expr.substring(op + 1));
        return expr.charAt(op) == '+' ? a + b : a - b;
    }
}
