package org.rlsf.model;

/**
 * One row's generated continuation.
 *
 * @param tokens        generated token ids (the EOS, when reached, is included as the last token)
 * @param tokenLogProbs natural-log probability of each generated token under the model (softmax of raw logits)
 * @param finish        why generation stopped
 */
public record Generation(int[] tokens, float[] tokenLogProbs, FinishReason finish) {
    public Generation {
        if (tokens.length != tokenLogProbs.length) {
            throw new IllegalArgumentException("tokens and log-probs differ in length");
        }
    }

    public enum FinishReason {
        /** the model emitted end-of-sequence */
        EOS,
        /** max_new_tokens reached */
        MAX_TOKENS
    }
}
