package org.rlsf.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.TestSpark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model whose tokenizer starts texts without BOS (GPT-2's) and the chat prompt template, through the stage commands on
 * a tiny random model over GPT-2's real BPE (src/test/resources/hf/gpt2-bpe-smoke).
 */
class HfPromptAndBosTest {
    static final String MODEL = "src/test/resources/hf/gpt2-bpe-smoke";
    static final String[] SMALL = {"--set", "generate.k=2", "--set", "generate.max-new-tokens=8", "--set", "generate.shards=1",
            "--set", "generate.max-answer-tokens=4"};
    @TempDir
    Path tmp;

    private Path corpus() {
        Path prompts = tmp.resolve("prompts");
        assertEquals(0, Main.execute("corpus", "--task", "arith", "--n", "8", "--seed", "1", "--split", "train",
                "--out", prompts.toString()));
        return prompts;
    }

    private static List<Row> traces(Path table) {
        SparkSession spark = SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate();
        return spark.read().parquet(table.toString()).selectExpr("prompt", "prompt_tokens", "token_logprobs")
                .orderBy("prompt_id", "branch").collectAsList();
    }

    /**
     * Without BOS the traces' log-probs (decoder) and the DPO training graph (pairs laid out without BOS) still agree:
     * policy = reference gives a held-out DPO loss of exactly ln 2.
     */
    @Test
    void dpoStartsAtLn2OnAModelWithoutBos() throws Exception {
        Path traces = tmp.resolve("traces"), pairs = tmp.resolve("pairs"), out = tmp.resolve("policy");
        String[] generate = {"generate", "--model", "hf:" + MODEL, "--corpus", corpus().toString(), "--out", traces.toString()};
        assertEquals(0, Main.execute(concat(generate, SMALL)));
        Row first = traces(traces).get(0);
        assertTrue(first.getString(0).startsWith("Q: "), first.getString(0));
        assertNotEquals(50256, first.getList(1).get(0), "no BOS in front of the prompt");
        assertEquals(0, Main.execute("pairs", "--traces", traces.toString(), "--out", pairs.toString(),
                "--set", "pairs.threshold=0.0", "--set", "pairs.policy=best-vs-worst"));
        assertEquals(0, Main.execute("train", "--model", "hf:" + MODEL, "--pairs", pairs.toString(), "--out", out.toString(),
                "--set", "train.epochs=1", "--set", "train.pairs-per-batch=2", "--set", "train.heldout-fraction=0.5",
                "--set", "train.warmup-steps=0"));
        JsonNode start = new ObjectMapper().readTree(Files.readAllLines(out.resolve("metrics.jsonl")).get(0));
        assertEquals("start", start.get("kind").asText());
        assertTrue(start.get("pairs").asInt() > 0, "held-out pairs: " + start);
        assertEquals(Math.log(2), start.get("loss").asDouble(), 1e-4, "decoder and training graph agree without BOS: " + start);
    }

    /** generate.prompt-template = chat renders the model's own template; BOS appears once, as the pipeline's token. */
    @Test
    void theChatTemplateFramesThePrompts() throws Exception {
        Path model = tmp.resolve("chat-model");
        Files.createDirectories(model);
        try (var files = Files.list(Path.of(MODEL))) {
            for (Path f : files.toList()) {
                Files.copy(f, model.resolve(f.getFileName()));
            }
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode tc = (ObjectNode) json.readTree(model.resolve("tokenizer_config.json").toFile());
        tc.put("add_bos_token", true).put("chat_template", "{{ bos_token }}{% for m in messages %}<{{ m.role }}> "
                + "{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}");
        json.writeValue(model.resolve("tokenizer_config.json").toFile(), tc);
        Path corpus = corpus(), traces = tmp.resolve("chat-traces");
        String[] generate = {"generate", "--model", "hf:" + model, "--corpus", corpus.toString(), "--out", traces.toString(),
                "--set", "generate.prompt-template=chat"};
        assertEquals(0, Main.execute(concat(generate, SMALL)));
        for (Row r : traces(traces)) {
            String prompt = r.getString(0);
            assertTrue(prompt.startsWith("<user> ") && prompt.endsWith("\n<assistant>") && !prompt.contains("Q: "), prompt);
            assertNotEquals(50256, r.getList(1).get(0), "the template's BOS is the pipeline's, not a second one");
        }

        // a model without a chat template fails before any work, saying why
        Path none = tmp.resolve("none");
        assertNotEquals(0, Main.execute(concat(new String[]{"generate", "--model", "hf:" + MODEL, "--corpus", corpus.toString(),
                "--out", none.toString(), "--set", "generate.prompt-template=chat"}, SMALL)));
        assertFalse(Files.exists(none.resolve("run_id=default")), "no traces written");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
