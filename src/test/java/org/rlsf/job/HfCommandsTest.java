package org.rlsf.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.rlsf.config.Architecture;
import org.rlsf.config.ModelConfig;
import org.rlsf.io.FileStore;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.hf.HfExport;
import org.rlsf.model.hf.HfModel;
import org.rlsf.model.hf.HfTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The way in and out on the command line: {@code rlsf checkpoint --from hf:DIR --out CKPT} converts a Hugging Face
 * directory (a small random GPT-2-shaped model with GPT-2's real tokenizer), {@code rlsf sample --model hf:DIR} runs it,
 * and {@code rlsf export} writes it back with the same weights and the tokenizer files.
 */
class HfCommandsTest {
    @TempDir
    Path tmp;

    /** A random GPT-2-shaped model over GPT-2's 50,257-token vocabulary, written as a Hugging Face directory. */
    static Path tinyGpt2(Path dir) throws Exception {
        ModelConfig m = new ModelConfig(50257, 8, 1, 2, 16, 32, 1e-5, 0.5, 5, Architecture.gpt2());
        ComputationGraph g = TransformerLm.create(m, 32, TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT);
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.putArray("architectures").add("GPT2LMHeadModel");
        c.put("model_type", "gpt2").put("vocab_size", 50257).put("n_embd", 8).put("n_layer", 1).put("n_head", 2)
                .put("n_inner", 16).put("n_positions", 32).put("layer_norm_epsilon", 1e-5)
                .put("activation_function", "gelu_new").put("bos_token_id", 50256).put("eos_token_id", 50256);
        Map<String, String> files = new LinkedHashMap<>();
        files.put("config.json", c.toString());
        for (String f : new String[]{"tokenizer.json", "tokenizer_config.json"}) {
            files.put(f, Files.readString(Path.of("src/test/resources/tokenizers/gpt2", f)));
        }
        HfExport.write(g, m, files, dir, "F32", HfExport.DEFAULT_SHARD_BYTES);
        return dir;
    }

    @Test
    void convertSampleAndExportBack() throws Exception {
        Path source = tinyGpt2(tmp.resolve("source"));
        Path ckpt = tmp.resolve("ckpt");
        assertEquals(0, Main.execute("checkpoint", "--from", "hf:" + source, "--out", ckpt.toString()));
        Checkpoint c = Checkpoint.load(FileStore.local(), FileStore.path(ckpt.toString()));
        assertTrue(c.tokenizer() instanceof HfTokenizer, "the checkpoint keeps the Hugging Face tokenizer");
        @SuppressWarnings("unchecked")
        Map<String, String> hashes = (Map<String, String>) c.lineage().get("hf_source_sha256");
        assertTrue(hashes.containsKey("model.safetensors") && hashes.containsKey("config.json"), hashes.toString());
        // converting again into the same directory keeps it
        assertEquals(0, Main.execute("checkpoint", "--from", "hf:" + source, "--out", ckpt.toString()));

        assertEquals(0, Main.execute("sample", "--model", "hf:" + source, "--prompt", "The answer is",
                "--max-new-tokens", "5", "--out", tmp.resolve("samples.jsonl").toString()));
        assertTrue(Files.readString(tmp.resolve("samples.jsonl")).contains("The answer is"));

        Path out = tmp.resolve("exported");
        assertEquals(0, Main.execute("export", "--model", ckpt.toString(), "--out", out.toString(), "--dtype", "f32"));
        assertEquals(Checkpoint.weightsSha256(HfModel.load(source).graph().params()),
                Checkpoint.weightsSha256(HfModel.load(out).graph().params()));
        assertEquals(Files.readString(source.resolve("tokenizer.json")), Files.readString(out.resolve("tokenizer.json")));
        assertTrue(Files.isRegularFile(out.resolve("generation_config.json")));
    }

    @Test
    void exportRefusesRlsfsOwnModel() throws Exception {
        Path ckpt = tmp.resolve("base");
        assertEquals(0, Main.execute("checkpoint", "--from", "builtin:base", "--out", ckpt.toString()));
        assertEquals(1, Main.execute("export", "--model", ckpt.toString(), "--out", tmp.resolve("x").toString()));
    }

    /** The Spark stage commands take hf:DIR too: converted once into OUT/_base, which a rerun keeps. */
    @Test
    void generateAndEvaluateTakeAHuggingFaceDirectory() throws Exception {
        String model = "hf:src/test/resources/hf/gpt2-bpe-smoke";
        String[] small = {"--set", "generate.k=2", "--set", "generate.max-new-tokens=8", "--set", "generate.shards=1",
                "--set", "evaluate.k=2", "--set", "evaluate.shards=1"};
        Path prompts = tmp.resolve("prompts"), heldout = tmp.resolve("heldout"), traces = tmp.resolve("traces");
        assertEquals(0, Main.execute("corpus", "--task", "arith", "--n", "3", "--seed", "1", "--split", "train",
                "--out", prompts.toString()));
        assertEquals(0, Main.execute("corpus", "--task", "arith", "--n", "3", "--seed", "2", "--split", "heldout",
                "--out", heldout.toString()));
        String[] generate = concat(new String[]{"generate", "--model", model, "--corpus", prompts.toString(),
                "--out", traces.toString(), "--run-id", "r1"}, small);
        assertEquals(0, Main.execute(generate));
        Path converted = traces.resolve(ModelArgs.CONVERTED);
        assertTrue(Files.isRegularFile(converted.resolve(Checkpoint.MANIFEST)), "converted into the output's _base");
        long convertedAt = Files.getLastModifiedTime(converted.resolve(Checkpoint.MANIFEST)).toMillis();
        assertEquals(0, Main.execute(generate));   // a rerun resumes and keeps the conversion
        assertEquals(convertedAt, Files.getLastModifiedTime(converted.resolve(Checkpoint.MANIFEST)).toMillis());
        // the same input under another run id gives identical rows: BPE encoding and decoding are deterministic
        String[] again = generate.clone();
        again[again.length - small.length - 1] = "r2";
        assertEquals(0, Main.execute(again));
        var spark = org.apache.spark.sql.SparkSession.builder().sparkContext(org.rlsf.TestSpark.context().sc()).getOrCreate();
        var rows = spark.read().parquet(traces.toString());
        String[] cols = {"prompt_id", "branch", "prompt_tokens", "trace_text", "trace_tokens", "token_logprobs", "answer",
                "span_start", "span_end", "confidence"};
        var r1 = rows.filter("run_id = 'r1'").selectExpr(cols).orderBy("prompt_id", "branch").collectAsList();
        var r2 = rows.filter("run_id = 'r2'").selectExpr(cols).orderBy("prompt_id", "branch").collectAsList();
        assertEquals(6, r1.size(), "3 prompts x K=2");
        assertEquals(r1.toString(), r2.toString());
        assertEquals(0, Main.execute(concat(new String[]{"evaluate", "--model", model, "--corpus", heldout.toString(),
                "--out", tmp.resolve("eval").toString(), "--decoding", "greedy"}, small)));
        assertTrue(Files.isRegularFile(tmp.resolve("eval/summary.json")));
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
