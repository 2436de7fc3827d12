package org.rlsf.pairs;

import java.io.Serializable;

/**
 * One scored trace of a prompt, as the pair builder sees it (from the traces table; no gold answer).
 *
 * @param branch       branch index (0 = the greedy branch)
 * @param text         the trace text, without the elicitation sentence
 * @param tokens       the response tokens (forced first token … EOS when finished)
 * @param answer       the parsed answer, or null
 * @param confidence   answer-span confidence
 * @param refLogProb   the frozen model's summed log-probability of the response tokens given the prompt
 */
public record Candidate(int branch, String text, int[] tokens, String answer, double confidence, double refLogProb)
        implements Serializable {
}
