package org.rlsf.model.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each malformed model directory fails with an error naming the file and, where there is one, the tensor or field. */
class HfBadInputTest {
    @TempDir
    Path tmp;

    private Path copy(String fixture) throws Exception {
        Path dir = tmp.resolve(fixture);
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(HfImportTest.fixture(fixture))) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        return dir;
    }

    private static String fails(Path dir) {
        return assertThrows(IllegalArgumentException.class, () -> HfModel.load(dir)).getMessage();
    }

    private static void assertMentions(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message.contains(p), "'" + message + "' should mention " + p);
        }
    }

    @Test
    void aMissingShard() throws Exception {
        Path dir = copy("mistral-sharded");
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        assertMentions(fails(dir), "model-00002-of-00002.safetensors", "missing", HfModel.INDEX);
    }

    @Test
    void aHeaderLongerThanTheFile() throws Exception {
        Path dir = copy("llama");
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve(HfModel.WEIGHTS).toFile(), "rw")) {
            f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(f.length() + 100).array());
        }
        assertMentions(fails(dir), HfModel.WEIGHTS, "header length", "longer than the file");
    }

    @Test
    void anUnknownDtype() throws Exception {
        Path dir = copy("llama");
        rewriteHeader(dir.resolve(HfModel.WEIGHTS), "\"dtype\":\"F32\",\"shape\":[96,32]", "\"dtype\":\"I64\",\"shape\":[96,16]");
        assertMentions(fails(dir), HfModel.WEIGHTS, "model.embed_tokens.weight", "I64");
    }

    @Test
    void aTensorWhoseShapeDisagreesWithConfigJson() throws Exception {
        Path dir = copy("llama");
        editConfig(dir, c -> c.put("intermediate_size", 64));
        assertMentions(fails(dir), HfModel.WEIGHTS, "mlp.gate_proj.weight", "[48, 32]", "[64, 32]", "config.json");
    }

    @Test
    void anUnsupportedModelType() throws Exception {
        Path dir = copy("llama");
        editConfig(dir, c -> c.put("model_type", "gemma2"));
        assertMentions(fails(dir), "config.json", "gemma2", "llama, mistral, qwen2, gpt2");
    }

    @Test
    void aTensorTheConfigDoesNotAccountFor() throws Exception {
        Path dir = copy("qwen2-f16");
        editConfig(dir, c -> c.put("model_type", "llama"));   // a Llama has no q/k/v biases: the file's would be ignored
        assertMentions(fails(dir), "self_attn.q_proj.bias", "not part of a llama model");
    }

    @Test
    void anUnsupportedRopeScaling() throws Exception {
        Path dir = copy("llama");
        editConfig(dir, c -> c.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0));
        assertMentions(fails(dir), "config.json", "rope_scaling", "yarn");
    }

    private static void editConfig(Path dir, java.util.function.Consumer<ObjectNode> edit) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = (ObjectNode) json.readTree(dir.resolve("config.json").toFile());
        edit.accept(c);
        json.writeValue(dir.resolve("config.json").toFile(), c);
    }

    /** Replaces text inside a safetensors header (same length, so offsets stay valid). */
    private static void rewriteHeader(Path file, String from, String to) throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.contains(from), "fixture header has " + from);
        String changed = header.replace(from, to);
        byte[] h = changed.getBytes(StandardCharsets.UTF_8);
        assertTrue(h.length == n, "same header length");
        System.arraycopy(h, 0, bytes, 8, h.length);
        Files.write(file, bytes);
    }
}
