package org.rlsf.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Text ↔ token ids. Implementations are immutable and serialise to JSON (saved inside every
 * checkpoint). Ids 0..vocabSize-1; {@link #padId()}, {@link #bosId()} and {@link #eosId()} are
 * special tokens that never come out of {@link #encode(String)} (an imported model's may coincide: GPT-2 has one).
 */
public interface Tokenizer {
    int vocabSize();

    int padId();

    /**
     * The token every sequence starts with, before the prompt; -1 when the model's tokenizer starts none (GPT-2, Qwen2:
     * a sequence then starts with the prompt's first token, as Hugging Face runs those models).
     */
    int bosId();

    /** Position of the prompt's first token in a sequence: 1 after a BOS, else 0. */
    static int promptOffset(int bosId) {
        return bosId >= 0 ? 1 : 0;
    }

    /** {@code [BOS] prompt} as one array ({@code prompt} alone when {@code bosId} is -1). */
    static int[] withBos(int bosId, int[] prompt) {
        if (bosId < 0) {
            return prompt.clone();
        }
        int[] r = new int[prompt.length + 1];
        r[0] = bosId;
        System.arraycopy(prompt, 0, r, 1, prompt.length);
        return r;
    }

    /**
     * A user message as the prompt text of the model's own chat template, the assistant's turn opened
     * ({@code generate.prompt-template = chat}).
     *
     * @throws IllegalArgumentException when the model has no chat template
     */
    default String chatPrompt(String userMessage) {
        throw new IllegalArgumentException("this model's tokenizer has no chat template (only imported Hugging Face "
                + "models carry one): set generate.prompt-template = plain");
    }

    int eosId();

    /**
     * Encodes text without special tokens.
     *
     * @throws UnknownCharacterException when the text holds a character the vocabulary cannot express
     */
    int[] encode(String text);

    /** Decodes ids to text; special tokens are dropped. */
    String decode(int[] ids);

    /** The surface string of one id (special tokens in angle brackets). */
    String token(int id);

    /** JSON with a {@code "kind"} field that {@link #fromJson(String)} dispatches on. */
    String toJson();

    static Tokenizer fromJson(String json) {
        try {
            JsonNode node = new ObjectMapper().readTree(json);
            String kind = node.path("kind").asText("");
            if (WordTokenizer.KIND.equals(kind)) {
                return WordTokenizer.fromJson(node);
            }
            if (org.rlsf.model.hf.HfTokenizer.KIND.equals(kind)) {
                return org.rlsf.model.hf.HfTokenizer.fromJson(node);
            }
            throw new IllegalArgumentException("unknown tokenizer kind '" + kind + "'");
        } catch (IOException e) {
            throw new UncheckedIOException("tokenizer JSON is unreadable: " + e.getMessage(), e);
        }
    }

    /** A character outside the vocabulary; {@link #offset()} is its index in the encoded text. */
    final class UnknownCharacterException extends IllegalArgumentException {
        private final int offset;

        public UnknownCharacterException(int offset, int codePoint) {
            super(String.format("character '%s' (U+%04X) at offset %d is not in the tokenizer's vocabulary",
                    new String(Character.toChars(codePoint)), codePoint, offset));
            this.offset = offset;
        }

        public int offset() {
            return offset;
        }
    }
}
