package org.rlsf.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.report.RunReport;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rlsf run with run.method = ppo on the smoke configuration: reward model, PPO, its evaluation and report rows. */
class RunPpoJobTest {
    @Test
    void thePpoMethodRunsTheRewardModelAndPpoAndReportsThem(@TempDir File runs) throws Exception {
        assertEquals(0, Main.execute("run", "-c", "conf/experiments/smoke.conf", "--run-id", "smoke-ppo", "--out",
                runs.getAbsolutePath(), "--set", "run.method=ppo", "--set", "ppo.rounds=2", "--set", "ppo.prompts-per-round=8",
                "--set", "ppo.max-new-tokens=24", "--set", "ppo.epochs=1", "--set", "reward.epochs=1"));
        File run = new File(runs, "smoke-ppo");
        for (String p : new String[]{"checkpoints/reward-model/checkpoint/checkpoint.json", "checkpoints/rlsf-ppo/metrics.jsonl",
                "checkpoints/rlsf-ppo/checkpoint/checkpoint.json", "eval/" + RunReport.PPO_GREEDY + "/summary.json",
                "report/ppo-rounds.png", "report/reliability-" + RunReport.PPO_GREEDY + "-all.png"}) {
            assertTrue(new File(run, p).isFile(), "missing " + p);
        }
        assertFalse(new File(run, "checkpoints/rlsf").exists(), "method ppo trains no DPO policy");
        JsonNode results = new ObjectMapper().readTree(new File(run, "report/results.json"));
        List<String> models = new ArrayList<>();
        results.get("results").forEach(r -> models.add(r.get("model").asText()));
        assertTrue(models.contains(RunReport.PPO_GREEDY) && !models.contains(RunReport.RLSF_GREEDY), models.toString());
        assertTrue(results.get("targets").toString().contains("RLSF-PPO greedy"), results.get("targets").toString());
        assertTrue(Files.readString(new File(run, "report/report.md").toPath()).contains("## RLSF-PPO"));
        // the reward model judged every base CoT-decoding branch: an AUROC and a best-of-K accuracy per task and overall
        JsonNode judged = results.get("reward_model_on_base_branches");
        assertTrue(judged != null && judged.size() >= 2, String.valueOf(judged));
        for (JsonNode r : judged) {
            double bestOfK = r.get("reward_best_of_k_accuracy").asDouble();
            assertTrue(bestOfK >= 0 && bestOfK <= 1 && r.get("branches").asLong() > 0, r.toString());
            assertTrue(r.get("reward_branch_auroc").isNull() || r.get("reward_branch_auroc").asDouble() >= 0, r.toString());
        }
        JsonNode cot = new ObjectMapper().readTree(new File(run, "eval/base-cot-decoding/summary.json"));
        assertTrue(cot.get("reward_model").asText().endsWith("checkpoints/reward-model/checkpoint"), cot.toString());
        long scoredBefore = new File(run, "eval/base-cot-decoding/summary.json").lastModified();
        // a rerun finds every stage done
        assertEquals(0, Main.execute("run", "-c", "conf/experiments/smoke.conf", "--run-id", "smoke-ppo", "--out",
                runs.getAbsolutePath(), "--set", "run.method=ppo", "--set", "ppo.rounds=2", "--set", "ppo.prompts-per-round=8",
                "--set", "ppo.max-new-tokens=24", "--set", "ppo.epochs=1", "--set", "reward.epochs=1"));
        assertEquals(scoredBefore, new File(run, "eval/base-cot-decoding/summary.json").lastModified(),
                "the scored base evaluation is not redone");
    }
}
