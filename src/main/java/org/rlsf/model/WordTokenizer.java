package org.rlsf.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A closed word-level vocabulary for small task corpora: words carry their leading space
 * (" apples"), digits are single tokens (" 4", "2"), punctuation is a token, and every character
 * seen in the corpus is a fallback token so any corpus text can be encoded. Shorter sequences than
 * characters, and the first decoding step branches between real openings (method.md §5).
 *
 * <p>Pieces: a newline, or an optional single space followed by a run of letters, a single digit or
 * one other non-space character; any other whitespace character on its own. A piece not in the
 * vocabulary is spelled with its characters. Decoding concatenates surfaces, so it is lossless.
 */
public final class WordTokenizer implements Tokenizer {
    public static final String KIND = "word";
    static final List<String> SPECIALS = List.of("<pad>", "<bos>", "<eos>");
    private static final Pattern PIECE = Pattern.compile("\\n| ?[A-Za-z]+| ?[0-9]| ?[^A-Za-z0-9\\s]|\\s");

    private final List<String> vocab;
    private final Map<String, Integer> ids;

    private WordTokenizer(List<String> vocab) {
        this.vocab = List.copyOf(vocab);
        this.ids = new HashMap<>();
        for (int i = 0; i < vocab.size(); i++) {
            if (ids.put(vocab.get(i), i) != null) {
                throw new IllegalArgumentException("duplicate vocabulary entry '" + vocab.get(i) + "'");
            }
        }
        for (int i = 0; i < SPECIALS.size(); i++) {
            if (!SPECIALS.get(i).equals(vocab.get(i))) {
                throw new IllegalArgumentException("vocabulary must start with " + SPECIALS);
            }
        }
    }

    /**
     * Builds the vocabulary from a corpus: specials, then every character seen, then the most
     * frequent multi-character pieces (ties broken by the piece's text) until {@code maxVocab}.
     *
     * @throws IllegalArgumentException when the corpus's characters alone exceed {@code maxVocab}
     */
    public static WordTokenizer train(Collection<String> documents, int maxVocab) {
        Map<String, Integer> pieceCounts = new HashMap<>();
        Set<String> chars = new java.util.TreeSet<>();
        for (String doc : documents) {
            Matcher m = PIECE.matcher(doc);
            while (m.find()) {
                String piece = m.group();
                pieceCounts.merge(piece, 1, Integer::sum);
                piece.codePoints().forEach(cp -> chars.add(new String(Character.toChars(cp))));
            }
        }
        LinkedHashSet<String> vocab = new LinkedHashSet<>(SPECIALS);
        vocab.addAll(chars);
        if (vocab.size() > maxVocab) {
            throw new IllegalArgumentException("the corpus has " + chars.size() + " distinct characters; "
                    + "tokenizer.max-vocab=" + maxVocab + " cannot hold them and the special tokens");
        }
        TreeMap<Integer, List<String>> byCount = new TreeMap<>();
        pieceCounts.forEach((piece, count) -> {
            if (piece.codePointCount(0, piece.length()) > 1) {
                byCount.computeIfAbsent(-count, k -> new ArrayList<>()).add(piece);
            }
        });
        outer:
        for (List<String> pieces : byCount.values()) {
            pieces.sort(String::compareTo);
            for (String piece : pieces) {
                if (vocab.size() >= maxVocab) {
                    break outer;
                }
                vocab.add(piece);
            }
        }
        return new WordTokenizer(new ArrayList<>(vocab));
    }

    @Override
    public int vocabSize() {
        return vocab.size();
    }

    @Override
    public int padId() {
        return 0;
    }

    @Override
    public int bosId() {
        return 1;
    }

    @Override
    public int eosId() {
        return 2;
    }

    @Override
    public int[] encode(String text) {
        int[] out = new int[text.length()];
        int n = 0;
        Matcher m = PIECE.matcher(text);
        int expected = 0;
        while (m.find()) {
            if (m.start() != expected) {
                throw new UnknownCharacterException(expected, text.codePointAt(expected));
            }
            expected = m.end();
            Integer id = ids.get(m.group());
            if (id != null) {
                out = grow(out, n + 1);
                out[n++] = id;
                continue;
            }
            for (int i = m.start(); i < m.end(); ) {
                int cp = text.codePointAt(i);
                Integer cid = ids.get(new String(Character.toChars(cp)));
                if (cid == null) {
                    throw new UnknownCharacterException(i, cp);
                }
                out = grow(out, n + 1);
                out[n++] = cid;
                i += Character.charCount(cp);
            }
        }
        if (expected != text.length()) {
            throw new UnknownCharacterException(expected, text.codePointAt(expected));
        }
        return Arrays.copyOf(out, n);
    }

    private static int[] grow(int[] a, int need) {
        return need <= a.length ? a : Arrays.copyOf(a, Math.max(need, a.length * 2));
    }

    @Override
    public String decode(int[] tokenIds) {
        StringBuilder sb = new StringBuilder();
        for (int id : tokenIds) {
            if (id < 0 || id >= vocab.size()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocab.size() + ")");
            }
            if (id >= SPECIALS.size()) {
                sb.append(vocab.get(id));
            }
        }
        return sb.toString();
    }

    @Override
    public String token(int id) {
        return vocab.get(id);
    }

    @Override
    public String toJson() {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        root.put("kind", KIND);
        root.put("version", 1);
        ArrayNode arr = root.putArray("vocab");
        vocab.forEach(arr::add);
        try {
            return om.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static WordTokenizer fromJson(JsonNode node) {
        List<String> v = new ArrayList<>();
        node.path("vocab").forEach(n -> v.add(n.asText()));
        if (v.size() < SPECIALS.size()) {
            throw new IllegalArgumentException("word tokenizer JSON has no vocabulary");
        }
        return new WordTokenizer(v);
    }
}
