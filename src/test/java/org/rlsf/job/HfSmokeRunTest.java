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

        // LoRA on the same pairs: rlsf train hands back the merged policy with its PEFT adapter; export writes either
        File lora = new File(runs, "lora");
        assertEquals(0, Main.execute("train", "-c", "conf/experiments/hf-smoke.conf", "--model",
                new File(run, "checkpoints/base").getPath(), "--pairs", new File(run, "pairs").getPath(), "--out",
                lora.getPath(), "--set", "train.lora.rank=4", "--set", "train.learning-rate=1e-2"));
        for (String p : new String[]{"adapter_config.json", "adapter_model.safetensors"}) {
            assertTrue(new File(lora, "checkpoint/adapter/" + p).isFile(), "the checkpoint holds its adapter: " + p);
        }
        File adapter = new File(runs, "adapter"), merged = new File(runs, "merged");
        assertEquals(0, Main.execute("export", "--model", lora.getPath(), "--out", adapter.getPath(),
                "--base-model-name", "gpt2"));
        String config = Files.readString(new File(adapter, "adapter_config.json").toPath());
        assertTrue(config.contains("\"peft_type\" : \"LORA\"") && config.contains("\"base_model_name_or_path\" : \"gpt2\"")
                && config.contains("\"c_attn\"") && config.contains("\"fan_in_fan_out\" : true"), config);
        assertEquals(0, Main.execute("export", "--model", lora.getPath(), "--out", merged.getPath(), "--merge", "--dtype", "f32"));
        Checkpoint tuned = Checkpoint.load(FileStore.local(), FileStore.path(lora.getPath()));
        HfModel back = HfModel.load(merged.toPath());
        Checkpoint base = Checkpoint.load(FileStore.local(), FileStore.path(new File(run, "checkpoints/base").getPath()));
        double moved = tuned.graph().params().sub(base.graph().params()).amaxNumber().doubleValue();
        assertTrue(moved > 0, "LoRA moved the policy");
        assertEquals(0.0, tuned.graph().params().sub(back.graph().params()).amaxNumber().doubleValue(),
                "the merged export (f32) imports back to the merged policy");
    }
}
