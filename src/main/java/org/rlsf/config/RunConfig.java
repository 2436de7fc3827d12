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
 * @param seed          seed of the prompt corpus (and of pretraining corpora)
 * @param evalSeed      seed of the held-out corpus
 */
public record RunConfig(String runsDir, List<String> tasks, String baseModel, int trainProblems, int prompts,
                        int evalProblems, long seed, long evalSeed) {
    public RunConfig {
        Require.that(!runsDir.isBlank(), "run.runs-dir", "a directory", "\"\"");
        Require.that(!tasks.isEmpty(), "run.tasks", "a non-empty list of task families", tasks);
        Require.that(tasks.stream().distinct().count() == tasks.size(), "run.tasks", "a list without repeats", tasks);
        Require.that(!baseModel.isBlank(), "run.base-model", "builtin:NAME, a checkpoint path, hf:DIR or pretrain", "\"\"");
        Require.that(trainProblems >= 1, "run.train-problems", ">= 1", trainProblems);
        Require.that(prompts >= 1, "run.prompts", ">= 1", prompts);
        Require.that(evalProblems >= 1, "run.eval-problems", ">= 1", evalProblems);
        tasks = List.copyOf(tasks);
    }

    static RunConfig fromConfig(Config c) {
        return new RunConfig(c.getString("runs-dir"), c.getStringList("tasks"), c.getString("base-model"),
                c.getInt("train-problems"), c.getInt("prompts"), c.getInt("eval-problems"), c.getLong("seed"),
                c.getLong("eval-seed"));
    }
}
