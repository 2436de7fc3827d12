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

    @Test
    void aMissingTokenizerJsonIsAClearError() throws Exception {
        Path dir = gpt2Dir();
        Files.delete(dir.resolve("tokenizer.json"));
        HfConfig c = HfConfig.parse(new ObjectMapper().readTree(dir.resolve("config.json").toFile()), "config.json");
        String message = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(dir, c)).getMessage();
        assertTrue(message.contains("no tokenizer.json"), message);
    }
}
