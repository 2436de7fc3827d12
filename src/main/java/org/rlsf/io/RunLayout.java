package org.rlsf.io;

import org.apache.hadoop.fs.Path;
import org.rlsf.config.RunIds;

/**
 * Every path of a run directory ({@code rlsf run}) and every completion marker of the tables and outputs in it.
 * <pre>
 *   &lt;runs&gt;/&lt;run_id&gt;/config.conf        the resolved configuration
 *                   stages.json        wall time and memory per step
 *                   corpus/prompts     unlabelled self-feedback prompts;  corpus/heldout  labelled evaluation problems
 *                   corpus/heldout-ood labelled problems outside the training range (eval/NAME-ood)
 *                   corpus/TASK-train  pretraining corpora (base-model = pretrain)
 *                   checkpoints/base   the frozen base;  checkpoints/rlsf  the DPO output (checkpoint/ = the policy)
 *                   checkpoints/rlsf-hf  the policy as a Hugging Face directory (imported base models only)
 *                   checkpoints/rlsf-adapter  a LoRA-tuned policy as a PEFT adapter directory (instead of rlsf-hf)
 *                   traces/  pairs/    tables partitioned by run_id
 *                   eval/NAME/         one evaluation each
 *                   report/            report.md, report.html, charts, results
 *                   rounds/round-R/    rounds 2.. (run.rounds): corpus/prompts, traces, pairs, checkpoints/rlsf, eval
 *                   rounds/summary.json  every round's label-free signals, evaluations and the round the rule keeps
 * </pre>
 * The static methods locate partitions and markers inside any table or output directory, run directory or not.
 */
public record RunLayout(Path dir, String runId) {
    /** A table's (or a partition's) completion marker, written after its data commits. */
    public static final String MANIFEST = "_MANIFEST.json";
    /** A checkpoint's completion marker (written last, with every file's hash). */
    public static final String CHECKPOINT_MANIFEST = "checkpoint.json";
    /** An evaluation's completion marker. */
    public static final String EVAL_SUMMARY = "summary.json";
    /** The suffix of an out-of-distribution evaluation's name ({@link #evalOod}). */
    public static final String OOD_SUFFIX = "-ood";
    /** The field of an evaluation's summary.json naming the reward model that scored its branches (null: none). */
    public static final String EVAL_SUMMARY_REWARD_MODEL = "reward_model";
    /** The directory a DPO output's selected policy is saved in. */
    public static final String POLICY = "checkpoint";

    /** The run {@code runId} under {@code runsDir}; the id must pass {@link RunIds#check}. */
    public static RunLayout of(String runsDir, String runId) {
        return new RunLayout(new Path(runsDir, RunIds.check(runId)), runId);
    }

    /** The layout of an existing run directory (its name is the run id). */
    public static RunLayout at(Path dir) {
        return new RunLayout(dir, dir.getName());
    }

    public Path config() {
        return new Path(dir, "config.conf");
    }

    public Path stages() {
        return new Path(dir, "stages.json");
    }

    public Path prompts() {
        return new Path(corpora(), "prompts");
    }

    public Path heldout() {
        return new Path(corpora(), "heldout");
    }

    /** Round {@code r}'s directory ({@code rounds/round-r}, for r >= 2; round 1 is the run itself), run id ID-rR. */
    public RunLayout round(int r) {
        return r == 1 ? this : new RunLayout(new Path(rounds(), "round-" + r), runId + "-r" + r);
    }

    /** Rounds 2.. of a multi-round run ({@code run.rounds}) and their summary. */
    public Path rounds() {
        return new Path(dir, "rounds");
    }

    /** Labelled out-of-distribution problems (longer step chains than training saw). */
    public Path heldoutOod() {
        return new Path(corpora(), "heldout-ood");
    }

    /** The evaluation of {@code name} on the out-of-distribution problems. */
    public Path evalOod(String name) {
        return eval(name + OOD_SUFFIX);
    }

    public Path pretrainCorpus(String task) {
        return new Path(corpora(), task + "-train");
    }

    private Path corpora() {
        return new Path(dir, "corpus");
    }

    public Path base() {
        return new Path(checkpoints(), "base");
    }

    public Path pretrain() {
        return new Path(checkpoints(), "base-pretrain");
    }

    /** The DPO output directory (config.conf, metrics.jsonl, epochs/, checkpoint/). */
    public Path tuned() {
        return new Path(checkpoints(), "rlsf");
    }

    /** The reward-model output directory (config.conf, metrics.jsonl, epochs/, checkpoint/). */
    public Path rewardModel() {
        return new Path(checkpoints(), "reward-model");
    }

    /** The RLSF-PPO output directory (config.conf, metrics.jsonl, rounds/, checkpoint/). */
    public Path ppo() {
        return new Path(checkpoints(), "rlsf-ppo");
    }

    /** An imported model's tuned policy as a Hugging Face model directory. */
    public Path export() {
        return new Path(checkpoints(), "rlsf-hf");
    }

    /** An imported model's LoRA-tuned policy as a PEFT adapter directory. */
    public Path exportAdapter() {
        return new Path(checkpoints(), "rlsf-adapter");
    }

    private Path checkpoints() {
        return new Path(dir, "checkpoints");
    }

    public Path traces() {
        return new Path(dir, "traces");
    }

    public Path pairs() {
        return new Path(dir, "pairs");
    }

    public Path eval(String name) {
        return new Path(new Path(dir, "eval"), name);
    }

    public Path report() {
        return new Path(dir, "report");
    }

    // --- inside tables and outputs ---

    /** A table's partition of one run: {@code TABLE/run_id=ID}. */
    public static Path runPartition(Path table, String runId) {
        return new Path(table, "run_id=" + RunIds.check(runId));
    }

    /** The run id of a {@code run_id=ID} partition directory, or null for any other name. */
    public static String runIdOf(Path partition) {
        String name = partition.getName();
        return name.startsWith("run_id=") ? name.substring("run_id=".length()) : null;
    }

    /** A traces table's shard of one run: {@code TABLE/run_id=ID/shard=N}. */
    public static Path shardPartition(Path table, String runId, int shard) {
        return new Path(runPartition(table, runId), "shard=" + shard);
    }

    /** The fixed facts of a generate run ({@link Manifests.GenerateRun}). */
    public static Path generateRun(Path table, String runId) {
        return new Path(runPartition(table, runId), "_RUN.json");
    }

    /** The completion marker of a table directory or partition. */
    public static Path manifest(Path tableOrPartition) {
        return new Path(tableOrPartition, MANIFEST);
    }

    public static boolean isComplete(FileStore store, Path tableOrPartition) {
        return store.exists(manifest(tableOrPartition));
    }

    /** Whether {@code dir} holds a complete checkpoint. */
    public static boolean isCheckpoint(FileStore store, Path dir) {
        store.recover(dir);
        return store.exists(new Path(dir, CHECKPOINT_MANIFEST));
    }

    /** The selected policy of a DPO output directory. */
    public static Path policy(Path trainOut) {
        return new Path(trainOut, POLICY);
    }

    public static Path evalSummary(Path evalDir) {
        return new Path(evalDir, EVAL_SUMMARY);
    }

    public static boolean isEvaluated(FileStore store, Path evalDir) {
        return store.exists(evalSummary(evalDir));
    }
}
