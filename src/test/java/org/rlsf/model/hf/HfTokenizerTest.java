package org.rlsf.model.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.model.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GPT-2's real tokenizer.json (src/test/resources/tokenizers/gpt2) through DJL's binding, offline. */
class HfTokenizerTest {
    @TempDir
    Path tmp;

    /** A GPT-2-shaped model directory's config with the tokenizer files beside it. */
    private Path gpt2Dir() throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = (ObjectNode) json.readTree(HfImportTest.fixture("gpt2").resolve("config.json").toFile());
        c.put("vocab_size", 50257).put("bos_token_id", 50256).put("eos_token_id", 50256);
        json.writeValue(tmp.resolve("config.json").toFile(), c);
        for (String f : new String[]{"tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(Path.of("src/test/resources/tokenizers/gpt2", f), tmp.resolve(f));
        }
        return tmp;
    }

    private HfTokenizer gpt2() throws Exception {
        Path dir = gpt2Dir();
        return HfTokenizer.load(dir, HfConfig.parse(new ObjectMapper().readTree(dir.resolve("config.json").toFile()), "config.json"));
    }

    @Test
    void encodesAsGpt2sOwnEncoder() throws Exception {
        HfTokenizer t = gpt2();
        // golden ids from gpt-3-encoder's Encoder.test.js (the same GPT-2 BPE)
        assertArrayEquals(new int[]{1212, 318, 617, 2420}, t.encode("This is some text"));
        assertArrayEquals(new int[]{521, 452, 12843}, t.encode("indivisible"));
        assertArrayEquals(new int[]{31373, 50169, 233, 995, 12520, 234, 235}, t.encode("hello 👋 world 🌍"));
        assertArrayEquals(new int[]{220}, t.encode(" "));
        assertArrayEquals(new int[]{197}, t.encode("\t"));
        assertEquals(50257, t.vocabSize());
        assertEquals(50256, t.eosId());
    }

    @Test
    void decodesBackAndDropsSpecialTokens() throws Exception {
        HfTokenizer t = gpt2();
        String text = "Q: Tom has 3 apples and buys 12 more. How many?\nA: 3 + 12 = 15. The answer is 15.";
        int[] ids = t.encode(text);
        assertEquals(text, t.decode(ids));
        int[] withEos = java.util.Arrays.copyOf(ids, ids.length + 1);
        withEos[ids.length] = t.eosId();
        assertEquals(text, t.decode(withEos));
        assertEquals("<<|endoftext|>>", t.token(50256));
        StringBuilder longText = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            longText.append(" word").append(i);
        }
        int[] longIds = t.encode(longText.toString());
        assertTrue(longIds.length >= 800, "400 words and numbers: " + longIds.length + " tokens");
        assertEquals(longText.toString(), t.decode(longIds), "no truncation at DJL's default maximum length (512)");
    }

    @Test
    void survivesTheCheckpointJsonWithItsSourceFiles() throws Exception {
        HfTokenizer t = gpt2();
        Tokenizer back = Tokenizer.fromJson(t.toJson());
        assertTrue(back instanceof HfTokenizer);
        assertArrayEquals(t.encode("hello 👋 world 🌍"), back.encode("hello 👋 world 🌍"));
        assertEquals(t.sourceFiles(), ((HfTokenizer) back).sourceFiles());
        assertEquals(t.eosId(), back.eosId());
    }

    /** Rewrites one JSON file of the model directory. */
    private static void editJson(Path file, java.util.function.Consumer<ObjectNode> edit) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode n = (ObjectNode) json.readTree(file.toFile());
        edit.accept(n);
        json.writeValue(file.toFile(), n);
    }

    private static HfTokenizer load(Path dir) throws Exception {
        return HfTokenizer.load(dir, HfConfig.parse(new ObjectMapper().readTree(dir.resolve("config.json").toFile()), "config.json"));
    }

    @Test
    void startsWithBosOnlyWhereHuggingFacesTokenizerDoes() throws Exception {
        Path dir = gpt2Dir();
        assertEquals(-1, load(dir).bosId(), "GPT-2's tokenizer adds no BOS: sequences start with the prompt");
        editJson(dir.resolve("tokenizer_config.json"), c -> c.put("add_bos_token", true));   // Llama 2 / Mistral style
        assertEquals(50256, load(dir).bosId());
        // Llama 3 style: no add_bos_token, a post-processor that puts BOS first
        editJson(dir.resolve("tokenizer_config.json"), c -> c.remove("add_bos_token"));
        editJson(dir.resolve("tokenizer.json"), t -> {
            ObjectNode pp = t.putObject("post_processor");
            pp.put("type", "TemplateProcessing");
            pp.putArray("single").addObject().putObject("SpecialToken").put("id", "<|endoftext|>").put("type_id", 0);
            ((com.fasterxml.jackson.databind.node.ArrayNode) pp.get("single")).addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            pp.putArray("pair").addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            ((com.fasterxml.jackson.databind.node.ArrayNode) pp.get("pair")).addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
            ObjectNode sp = pp.putObject("special_tokens").putObject("<|endoftext|>");
            sp.put("id", "<|endoftext|>");
            sp.putArray("ids").add(50256);
            sp.putArray("tokens").add("<|endoftext|>");
        });
        HfTokenizer llama3Style = load(dir);
        assertEquals(50256, llama3Style.bosId());
        assertArrayEquals(new int[]{1212, 318, 617, 2420}, llama3Style.encode("This is some text"), "encode adds no specials");
        // add_bos_token false overrides the post-processor, as transformers rebuilds it from the flag
        editJson(dir.resolve("tokenizer_config.json"), c -> c.put("add_bos_token", false));
        assertEquals(-1, load(dir).bosId());
    }

    @Test
    void checkpointsWrittenBeforeTheBosRuleKeepTheirBos() throws Exception {
        HfTokenizer t = gpt2();
        assertEquals(-1, Tokenizer.fromJson(t.toJson()).bosId(), "the rule survives the checkpoint JSON");
        ObjectNode old = (ObjectNode) new ObjectMapper().readTree(t.toJson());
        old.remove("add_bos");
        assertEquals(50256, Tokenizer.fromJson(old.toString()).bosId());
    }

    @Test
    void anInstructModelStopsAtItsTurnEnd() throws Exception {
        Path dir = gpt2Dir();
        // generation_config lists the base EOS first (Llama 3.1 Instruct's order); tokenizer_config names the turn end
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [50256, 198]}");
        assertEquals(50256, load(dir).eosId());
        editJson(dir.resolve("tokenizer_config.json"), c -> c.put("eos_token", "Ċ"));   // "\n" in GPT-2's byte alphabet
        assertEquals(198, load(dir).eosId());
    }

    @Test
    void chatPromptsRenderTheModelsTemplateWithOneBos() throws Exception {
        Path dir = gpt2Dir();
        String template = "{{ bos_token }}{% for m in messages %}{{ m['role'] | capitalize }}: {{ m['content'] | trim }}\n"
                + "{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}";
        editJson(dir.resolve("tokenizer_config.json"), c -> c.put("chat_template", template));
        HfTokenizer noBos = load(dir);
        assertEquals("<|endoftext|>User: What is 2 + 3?\nAssistant:", noBos.chatPrompt(" What is 2 + 3? "),
                "a tokenizer that adds no BOS keeps the template's");
        assertEquals(50256, noBos.encode(noBos.chatPrompt("x"))[0], "the BOS text encodes as the special token");
        editJson(dir.resolve("tokenizer_config.json"), c -> c.put("add_bos_token", true));
        assertEquals("User: What is 2 + 3?\nAssistant:", load(dir).chatPrompt("What is 2 + 3?"),
                "the pipeline prepends BOS: the template's is left out");
        // chat_template.jinja takes precedence (newer models ship it), and travels with the tokenizer
        Files.writeString(dir.resolve("chat_template.jinja"), "<<{{ messages[0].content }}>>");
        HfTokenizer jinja = load(dir);
        assertEquals("<<hi>>", jinja.chatPrompt("hi"));
        assertEquals("<<hi>>", Tokenizer.fromJson(jinja.toJson()).chatPrompt("hi"));
    }

    @Test
    void aModelWithoutAChatTemplateSaysSo() throws Exception {
        String message = assertThrows(IllegalArgumentException.class, () -> gpt2().chatPrompt("hi")).getMessage();
        assertTrue(message.contains("no chat template") && message.contains("prompt-template = plain"), message);
    }

    @Test
    void aMissingTokenizerJsonIsAClearError() throws Exception {
        Path dir = gpt2Dir();
        Files.delete(dir.resolve("tokenizer.json"));
        HfConfig c = HfConfig.parse(new ObjectMapper().readTree(dir.resolve("config.json").toFile()), "config.json");
        String message = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(dir, c)).getMessage();
        assertTrue(message.contains("no tokenizer.json"), message);
    }
}
