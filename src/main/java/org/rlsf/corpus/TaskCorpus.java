package org.rlsf.corpus;

import org.rlsf.tasks.Problem;
import org.rlsf.tasks.TaskFamily;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Generated corpora of a built-in task. The split is a function of the problem's content hash
 * (held-out iff the hash falls in the held-out tenth), so train and held-out are disjoint by
 * construction whatever the seeds; within a split, problems are unique.
 */
public final class TaskCorpus {
    public static final String TRAIN = "train";
    public static final String HELDOUT = "heldout";
    /** Held-out problems outside the training range ({@link TaskFamily#drawOutOfDistribution}). */
    public static final String OOD = "ood";
    static final int HELDOUT_BUCKETS = 10;

    private TaskCorpus() {
    }

    /** Which split a problem's content belongs to. */
    public static String splitOf(Problem p) {
        int bucket = Integer.parseInt(p.contentSha256().substring(0, 4), 16) % HELDOUT_BUCKETS;
        return bucket == 0 ? HELDOUT : TRAIN;
    }

    /** {@code n} problems of each named built-in task, in the order given (what `rlsf run` and `rlsf corpus` write). */
    public static List<Problem> generate(List<String> tasks, int n, long seed, String split) {
        List<Problem> out = new ArrayList<>();
        for (String task : tasks) {
            out.addAll(generate(TaskFamily.of(task), n, seed, split));
        }
        return out;
    }

    /**
     * {@code n} unique problems of {@code split}, deterministic in (task, n, seed, split). Ids are
     * {@code <task>-<split>-<seed>-<index>}.
     *
     * @throws IllegalArgumentException when the task cannot supply n unique problems of that split
     */
    public static List<Problem> generate(TaskFamily task, int n, long seed, String split) {
        if (!split.equals(TRAIN) && !split.equals(HELDOUT) && !split.equals(OOD)) {
            throw new IllegalArgumentException("split must be train, heldout or ood, was '" + split + "'");
        }
        boolean ood = split.equals(OOD);   // never a training problem: no content split needed
        if (n <= 0) {
            throw new IllegalArgumentException("--n must be > 0, was " + n);
        }
        Random rng = new Random(seed);
        List<Problem> out = new ArrayList<>(n);
        Set<String> seen = new HashSet<>();
        long attempts = 0;
        long maxAttempts = 2000L * n + 100_000;
        while (out.size() < n) {
            if (++attempts > maxAttempts) {
                throw new IllegalArgumentException("task " + task.name() + " ran out of unique " + split
                        + " problems after " + out.size() + " of " + n);
            }
            String id = String.format("%s-%s-%d-%06d", task.name(), split, seed, out.size());
            Problem p = ood ? task.drawOutOfDistribution(rng, id) : task.draw(rng, id);
            if ((ood || splitOf(p).equals(split)) && seen.add(p.contentSha256())) {
                out.add(p);
            }
        }
        return out;
    }
}
