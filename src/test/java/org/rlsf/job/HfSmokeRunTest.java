package org.rlsf.job;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.io.FileStore;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.hf.HfModel;

import java.io.File;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * conf/experiments/hf-smoke.conf: the main job on an imported Hugging Face model (GPT-2's real BPE tokenizer, a tiny
 * random model) with GSM8K prompts. Every artefact is written, and the tuned policy comes back as a Hugging Face
 * directory that imports with the policy's weights.
 */
class HfSmokeRunTest {
    @TempDir
    File runs;

    @Test
    void theWholePipelineRunsOnAnImportedModelAndExportsItsPolicy() throws Exception {
        String[] args = {"run", "-c", "conf/experiments/hf-smoke.conf", "--run-id", "hf", "--out", runs.getAbsolutePath()};
        assertEquals(0, Main.execute(args));
        File run = new File(runs, "hf");
        for (String p : new String[]{"checkpoints/base/checkpoint.json", "traces/run_id=hf/_RUN.json",
                "pairs/run_id=hf/_MANIFEST.json", "checkpoints/rlsf/checkpoint/checkpoint.json", "report/results.csv",
                "checkpoints/rlsf-hf/config.json", "checkpoints/rlsf-hf/model.safetensors", "checkpoints/rlsf-hf/tokenizer.json"}) {
            assertTrue(new File(run, p).isFile(), "missing " + p);
        }
        assertTrue(Files.readString(new File(run, "report/results.csv").toPath()).contains("gsm8k,rlsf-greedy"));
        Checkpoint policy = Checkpoint.load(FileStore.local(), FileStore.path(new File(run, "checkpoints/rlsf").getPath()));
        HfModel exported = HfModel.load(new File(run, "checkpoints/rlsf-hf").toPath());
        // bf16 on disk: the re-imported weights are the policy's rounded to bf16
        assertEquals(policy.graph().numParams(), exported.graph().numParams());
        double maxDiff = policy.graph().params().sub(exported.graph().params()).amaxNumber().doubleValue();
        double maxAbs = policy.graph().params().amaxNumber().doubleValue();
        assertTrue(maxDiff <= maxAbs / 128, "bf16 rounding only: max |Δ| " + maxDiff + " for max |w| " + maxAbs);
        // a rerun finds everything done, the export included
        long exportedAt = new File(run, "checkpoints/rlsf-hf/model.safetensors").lastModified();
        assertEquals(0, Main.execute(args));
        assertEquals(exportedAt, new File(run, "checkpoints/rlsf-hf/model.safetensors").lastModified());
    }
}
