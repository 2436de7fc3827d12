package org.rlsf.model.hf;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.rlsf.model.Tokenizer;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A Hugging Face {@code tokenizer.json} through the tokenizers library (DJL's Java binding, whose jar bundles the native
 * library: this class forces its offline CPU flavour, so it never tries to download, on the driver and on executors).
 * Special ids come from {@code config.json} / {@code generation_config.json} / {@code tokenizer_config.json}; the
 * vocabulary size is the model's ({@code vocab_size} may exceed the tokenizer's, as Qwen2.5's 151,936 over 151,665).
 *
 * <p>It also carries the source model's small files (tokenizer, generation and model configs) that an export writes back
 * ({@link #sourceFiles()}): they travel inside every checkpoint of the model this way, tuned ones included.
 */
public final class HfTokenizer implements Tokenizer {
    public static final String KIND = "hf";
    /** Files read from a model directory and kept with the tokenizer (config.json and tokenizer.json required). */
    public static final String[] SOURCE_FILES = {"config.json", "generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json"};
    private static final ObjectMapper JSON = new ObjectMapper();

    static {
        // the CPU build bundled in the jar; on a CUDA host DJL would otherwise pick a cu* flavour and download it
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getProperty("RUST_FLAVOR") == null && System.getenv("RUST_FLAVOR") == null) {
            System.setProperty("RUST_FLAVOR", "cpu");
        }
    }

    private final Map<String, String> sourceFiles;
    private final int vocabSize;
    private final int bosId;
    private final int eosId;
    private final int padId;
    private final TreeMap<Integer, String> tokens;
    private final java.util.Set<Integer> special;
    private final HuggingFaceTokenizer native_;

    private HfTokenizer(Map<String, String> sourceFiles, int vocabSize, int bosId, int eosId, int padId) {
        this.sourceFiles = Map.copyOf(sourceFiles);
        this.vocabSize = vocabSize;
        this.bosId = bosId;
        this.eosId = eosId;
        this.padId = padId;
        String json = sourceFiles.get("tokenizer.json");
        this.tokens = new TreeMap<>();
        this.special = new java.util.HashSet<>();
        try {
            JsonNode t = JSON.readTree(json);
            for (Iterator<Map.Entry<String, JsonNode>> it = t.path("model").path("vocab").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                tokens.put(e.getValue().asInt(), e.getKey());
            }
            for (JsonNode a : t.path("added_tokens")) {
                tokens.put(a.path("id").asInt(), a.path("content").asText());
                if (a.path("special").asBoolean(false)) {
                    special.add(a.path("id").asInt());
                }
            }
            this.native_ = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)),
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));   // never cut at 512
        } catch (IOException e) {
            throw new IllegalArgumentException("tokenizer.json is not readable: " + e.getMessage(), e);
        }
        if (tokens.isEmpty() || tokens.lastKey() >= vocabSize) {
            throw new IllegalArgumentException("tokenizer.json has ids up to " + (tokens.isEmpty() ? "none" : tokens.lastKey())
                    + ", outside the model's vocab_size " + vocabSize);
        }
    }

    /**
     * Reads the tokenizer of the model directory {@code dir}, whose config says the model's vocabulary size and special
     * ids ({@code config}).
     */
    public static HfTokenizer load(Path dir, HfConfig config) {
        Map<String, String> files = new LinkedHashMap<>();
        for (String f : SOURCE_FILES) {
            Path p = dir.resolve(f);
            if (Files.isRegularFile(p)) {
                try {
                    files.put(f, Files.readString(p));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read " + p + ": " + e.getMessage(), e);
                }
            }
        }
        if (!files.containsKey("tokenizer.json")) {
            throw new IllegalArgumentException(dir + " has no tokenizer.json (rlsf reads Hugging Face fast-tokenizer files; "
                    + "convert a slow tokenizer with transformers' AutoTokenizer.from_pretrained(...).save_pretrained)");
        }
        int eos = config.eosIds().isEmpty() ? -1 : config.eosIds().get(0);
        JsonNode gen = parse(files.get("generation_config.json"));
        if (gen != null && gen.has("eos_token_id")) {
            JsonNode e = gen.get("eos_token_id");
            eos = e.isArray() ? e.path(0).asInt(eos) : e.asInt(eos);
        }
        if (eos < 0) {
            throw new IllegalArgumentException(dir + ": neither config.json nor generation_config.json names an eos_token_id");
        }
        int bos = config.bosId() >= 0 ? config.bosId() : eos;
        int pad = gen != null && gen.path("pad_token_id").isInt() ? gen.get("pad_token_id").asInt() : eos;
        return new HfTokenizer(files, config.model().vocabSize(), bos, eos, pad);
    }

    private static JsonNode parse(String json) {
        try {
            return json == null ? null : JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("unreadable JSON: " + e.getMessage(), e);
        }
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int padId() {
        return padId;
    }

    @Override
    public int bosId() {
        return bosId;
    }

    @Override
    public int eosId() {
        return eosId;
    }

    @Override
    public int[] encode(String text) {
        long[] ids = native_.encode(text, false, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    @Override
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        int n = 0;
        for (int id : ids) {
            if (!special.contains(id) && id != padId && id != bosId && id != eosId && id < vocabSize && tokens.containsKey(id)) {
                l[n++] = id;
            }
        }
        return native_.decode(java.util.Arrays.copyOf(l, n), true);
    }

    @Override
    public String token(int id) {
        String t = tokens.get(id);
        return t == null ? "<unused " + id + ">" : special.contains(id) ? "<" + t + ">" : t;
    }

    /** The source model's config, tokenizer and generation files, by name. */
    public Map<String, String> sourceFiles() {
        return sourceFiles;
    }

    @Override
    public String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("kind", KIND);
        o.put("vocab_size", vocabSize);
        o.put("bos_id", bosId);
        o.put("eos_id", eosId);
        o.put("pad_id", padId);
        ObjectNode files = o.putObject("source_files");
        sourceFiles.forEach(files::put);
        try {
            return JSON.writeValueAsString(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The inverse of {@link #toJson()}. */
    public static HfTokenizer fromJson(JsonNode node) {
        Map<String, String> files = new LinkedHashMap<>();
        node.path("source_files").fields().forEachRemaining(e -> files.put(e.getKey(), e.getValue().asText()));
        return new HfTokenizer(files, node.path("vocab_size").asInt(), node.path("bos_id").asInt(),
                node.path("eos_id").asInt(), node.path("pad_id").asInt());
    }
}
