package org.rlsf.config;

import com.typesafe.config.Config;

import java.util.List;

/**
 * The main job ({@code rlsf run}).
 *
 * @param runsDir       where run directories are created
 * @param tasks         built-in task families, in order
 * @param baseModel     "builtin:NAME", a checkpoint path, "hf:DIR" (a Hugging Face model directory), or "pretrain"
 * @param trainProblems problems per task for pretraining (base-model = pretrain only)
 * @param prompts       unlabelled self-feedback prompts per task (train split)
 * @param evalProblems  labelled held-out problems per task
 * @param oodProblems   labelled out-of-distribution problems per built-in task (longer step chains than training saw),
 *                      evaluated and reported beside the held-out table; 0 = none (imported corpora have none)
 * @param seed          seed of the prompt corpus (and of pretraining corpora)
 * @param evalSeed      seed of the held-out corpus
 * @param promptsFile   "FORMAT:PATH" of an imported prompt corpus replacing the generated tasks' prompts, or ""
 * @param heldoutFile   "FORMAT:PATH" of an imported labelled held-out corpus, or ""
 * @param method        how the policy is tuned on the self-feedback: DPO on the pairs, RLSF-PPO (reward model + PPO),
 *                      or both side by side
 * @param rounds        RLSF rounds (DPO): round r generates, scores and trains against round r−1's policy on fresh
 *                      prompts (run.prompts per task each round, none reused)
 */
public record RunConfig(String runsDir, List<String> tasks, String baseModel, int trainProblems, int prompts,
                        int evalProblems, int oodProblems, long seed, long evalSeed, String promptsFile, String heldoutFile,
                        Method method, int rounds) {
    /** Which RLSF variants the main job trains and evaluates. */
    public enum Method {
        DPO, PPO, BOTH;

        public boolean dpo() {
            return this != PPO;
        }

        public boolean ppo() {
            return this != DPO;
        }

        public String configName() {
            return Require.configName(this);
        }
    }

    /** The formats an imported corpus of the main job may have. */
    public static final List<String> FILE_FORMATS = List.of("gsm8k", "mc-jsonl");

    public RunConfig {
        Require.that(!runsDir.isBlank(), "run.runs-dir", "a directory", "\"\"");
        Require.that(!tasks.isEmpty(), "run.tasks", "a non-empty list of task families", tasks);
        Require.that(tasks.stream().distinct().count() == tasks.size(), "run.tasks", "a list without repeats", tasks);
        Require.that(!baseModel.isBlank(), "run.base-model", "builtin:NAME, a checkpoint path, hf:DIR or pretrain", "\"\"");
        Require.that(trainProblems >= 1, "run.train-problems", ">= 1", trainProblems);
        Require.that(prompts >= 1, "run.prompts", ">= 1", prompts);
        Require.that(evalProblems >= 1, "run.eval-problems", ">= 1", evalProblems);
        Require.that(oodProblems >= 0, "run.ood-problems", ">= 0 (0 = none)", oodProblems);
        Require.that(promptsFile.isEmpty() || hasFormat(promptsFile), "run.prompts-file", "\"\" or FORMAT:PATH with FORMAT in "
                + FILE_FORMATS, promptsFile);
        Require.that(heldoutFile.isEmpty() || hasFormat(heldoutFile), "run.heldout-file", "\"\" or FORMAT:PATH with FORMAT in "
                + FILE_FORMATS, heldoutFile);
        Require.that(method != null, "run.method", "dpo | ppo | both", null);
        Require.that(rounds >= 1 && rounds <= 20, "run.rounds", "in [1, 20]", rounds);
        Require.that(rounds == 1 || method == Method.DPO, "run.rounds", "1 with run.method = " + (method == null ? "?"
                : method.configName()) + " (rounds beyond the first are DPO rounds)", rounds);
        tasks = List.copyOf(tasks);
    }

    private static boolean hasFormat(String spec) {
        int colon = spec.indexOf(':');
        return colon > 0 && colon < spec.length() - 1 && FILE_FORMATS.contains(spec.substring(0, colon));
    }

    static RunConfig fromConfig(Config c) {
        return new RunConfig(c.getString("runs-dir"), c.getStringList("tasks"), c.getString("base-model"),
                c.getInt("train-problems"), c.getInt("prompts"), c.getInt("eval-problems"), c.getInt("ood-problems"), c.getLong("seed"),
                c.getLong("eval-seed"), c.getString("prompts-file"), c.getString("heldout-file"),
                Require.choice("run.method", c.getString("method"), Method.class), c.getInt("rounds"));
    }
}
