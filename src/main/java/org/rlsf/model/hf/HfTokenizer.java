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
import java.util.List;
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
            "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"};
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
    private final boolean addBos;
    private final int eosId;
    private final int padId;
    private final TreeMap<Integer, String> tokens;
    private final java.util.Set<Integer> special;
    private final HuggingFaceTokenizer native_;
    private transient volatile ChatTemplate chatTemplate;

    private HfTokenizer(Map<String, String> sourceFiles, int vocabSize, int bosId, boolean addBos, int eosId, int padId) {
        this.sourceFiles = Map.copyOf(sourceFiles);
        this.vocabSize = vocabSize;
        this.bosId = bosId;
        this.addBos = addBos;
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

    /** {@code parsed} with these special ids, sharing its vocabulary and native tokenizer (tokenizer.json parsed once). */
    private HfTokenizer(HfTokenizer parsed, int bosId, boolean addBos, int eosId, int padId) {
        this.sourceFiles = parsed.sourceFiles;
        this.vocabSize = parsed.vocabSize;
        this.bosId = bosId;
        this.addBos = addBos;
        this.eosId = eosId;
        this.padId = padId;
        this.tokens = parsed.tokens;
        this.special = parsed.special;
        this.native_ = parsed.native_;
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
        JsonNode tc = parse(files.get("tokenizer_config.json"));
        HfTokenizer parsed = new HfTokenizer(files, config.model().vocabSize(), -1, false, -1, -1);
        // an instruct model ends its turns with tokenizer_config's eos_token (Llama 3.1 Instruct: <|eot_id|>, listed after
        // <|end_of_text|> in generation_config): generation stops there
        Integer turnEnd = tc == null ? null : parsed.idOf(tokenText(tc.path("eos_token")));
        if (turnEnd != null) {
            eos = turnEnd;
        }
        if (eos < 0) {
            throw new IllegalArgumentException(dir + ": neither config.json nor generation_config.json names an eos_token_id");
        }
        int bos = config.bosId() >= 0 ? config.bosId() : eos;
        int pad = gen != null && gen.path("pad_token_id").isInt() ? gen.get("pad_token_id").asInt() : eos;
        return new HfTokenizer(parsed, bos, parsed.startsWithBos(tc, bos), eos, pad);
    }

    /**
     * Whether Hugging Face's tokenizer starts every text with BOS: {@code tokenizer_config.json}'s {@code add_bos_token}
     * when set (Llama 2, Mistral: true; Qwen2: false), otherwise whether {@code tokenizer.json}'s post-processor puts
     * BOS first (Llama 3: yes; GPT-2, Qwen2, SmolLM2: no).
     */
    private boolean startsWithBos(JsonNode tokenizerConfig, int bos) {
        if (tokenizerConfig != null && tokenizerConfig.path("add_bos_token").isBoolean()) {
            return tokenizerConfig.get("add_bos_token").asBoolean();
        }
        long[] ids = native_.encode("a", true, false).getIds();
        return ids.length > 0 && ids[0] == bos;
    }

    /** A special token's text: tokenizer_config writes a string or an AddedToken object; null when absent. */
    private static String tokenText(JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) {
            return null;
        }
        return n.isTextual() ? n.asText() : n.path("content").isTextual() ? n.get("content").asText() : null;
    }

    /** The id of a token's text (added tokens and the model's vocabulary; an added token wins), or null. */
    private Integer idOf(String text) {
        if (text == null) {
            return null;
        }
        Integer found = null;
        for (Map.Entry<Integer, String> e : tokens.entrySet()) {
            if (text.equals(e.getValue()) && (found == null || special.contains(e.getKey()))) {
                found = e.getKey();
            }
        }
        return found;
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

    /** The model's BOS when its tokenizer starts texts with it; -1 when texts start with their own first token. */
    @Override
    public int bosId() {
        return addBos ? bosId : -1;
    }

    /**
     * The user message as the prompt the model's chat template makes of it, the assistant's turn opened. A BOS the
     * template writes is left out when the pipeline prepends BOS anyway (Llama 3's {@code {{ bos_token }}}), so that
     * every sequence starts with exactly one.
     *
     * @throws IllegalArgumentException when the model has no chat template or the template does not render
     */
    @Override
    public String chatPrompt(String userMessage) {
        String text = chatTemplate().render(List.of(new ChatTemplate.Message("user", userMessage)), true);
        String bos = addBos ? tokens.get(bosId) : null;
        return bos != null && text.startsWith(bos) ? text.substring(bos.length()) : text;
    }

    private ChatTemplate chatTemplate() {
        ChatTemplate t = chatTemplate;
        if (t == null) {
            JsonNode tc = parse(sourceFiles.get("tokenizer_config.json"));
            String source = "chat_template.jinja", text = sourceFiles.get(source);
            if (text == null && tc != null) {
                source = "tokenizer_config.json";
                JsonNode ct = tc.path("chat_template");
                if (ct.isTextual()) {
                    text = ct.asText();
                } else if (ct.isArray()) {   // named templates: [{"name": "default", "template": ...}, ...]
                    for (JsonNode named : ct) {
                        if ("default".equals(named.path("name").asText())) {
                            text = named.path("template").asText(null);
                        }
                    }
                }
            }
            if (text == null) {
                throw new IllegalArgumentException("the model has no chat template (neither chat_template.jinja nor "
                        + "tokenizer_config.json's chat_template): set generate.prompt-template = plain");
            }
            Map<String, String> specials = new LinkedHashMap<>();
            for (String name : List.of("bos_token", "eos_token", "pad_token", "unk_token")) {
                String v = tc == null ? null : tokenText(tc.path(name));
                if (v != null) {
                    specials.put(name, v);
                }
            }
            specials.putIfAbsent("bos_token", tokens.getOrDefault(bosId, ""));
            specials.putIfAbsent("eos_token", tokens.getOrDefault(eosId, ""));
            chatTemplate = t = new ChatTemplate(source, text, specials);
        }
        return t;
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
        o.put("add_bos", addBos);
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
        // checkpoints written before the BOS rule always started with BOS: they keep doing so
        return new HfTokenizer(files, node.path("vocab_size").asInt(), node.path("bos_id").asInt(),
                node.path("add_bos").asBoolean(true), node.path("eos_id").asInt(), node.path("pad_id").asInt());
    }
}
