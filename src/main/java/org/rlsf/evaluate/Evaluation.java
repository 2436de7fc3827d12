package org.rlsf.evaluate;

import org.rlsf.score.TraceRecord;
import org.rlsf.tasks.ArithTask;
import org.rlsf.tasks.Grader;
import org.rlsf.tasks.Problem;
import org.rlsf.tasks.TaskFamily;

import java.util.Comparator;
import java.util.List;

/**
 * Grades one problem's decoded branches against its gold answer: the only place gold answers meet
 * model output. Greedy decoding has one branch; CoT-decoding predicts with its most confident branch
 * (method.md §1.7: prediction and confidence from the single most confident path; ties go to the
 * lower branch, i.e. the more probable first token).
 */
public final class Evaluation {
    private Evaluation() {
    }

    /** The decoded branches a result describes, in its array order: those without an error, by branch index. */
    public static List<TraceRecord> branches(List<TraceRecord> traces) {
        return traces.stream().filter(t -> t.error() == null).sorted(Comparator.comparingInt(TraceRecord::branch)).toList();
    }

    public static ProblemResult grade(Problem p, List<TraceRecord> traces) {
        if (p.answer() == null) {
            throw new IllegalArgumentException("problem " + p.problemId() + " has no gold answer: evaluation needs a labelled corpus");
        }
        List<TraceRecord> branches = branches(traces);
        if (branches.isEmpty()) {
            String error = traces.stream().map(TraceRecord::error).filter(e -> e != null).findFirst().orElse("no branches decoded");
            return new ProblemResult(p.problemId(), p.task(), p.answer(), null, false, 0, null, 0, -1,
                    new String[0], new double[0], new boolean[0], new boolean[0], error);
        }
        int n = branches.size();
        String[] answers = new String[n];
        double[] conf = new double[n];
        boolean[] ok = new boolean[n];
        boolean[] cot = new boolean[n];
        boolean styleKnown = TaskFamily.names().contains(p.task());
        int tokens = 0, best = 0;
        for (int i = 0; i < n; i++) {
            TraceRecord t = branches.get(i);
            answers[i] = t.answer();
            conf[i] = t.confidence();
            ok[i] = t.answer() != null && Grader.grade(p.task(), p.answer(), t.answer(), p.letters()).correct();
            cot[i] = styleKnown && t.traceText().startsWith(ArithTask.COT_OPENER);
            tokens += t.traceTokens().length;
            if (conf[i] > conf[best]) {
                best = i;
            }
        }
        return new ProblemResult(p.problemId(), p.task(), p.answer(), answers[best], ok[best], conf[best],
                styleKnown ? cot[best] : null, tokens, branches.get(best).branch(), answers, conf, ok, cot, null);
    }
}
