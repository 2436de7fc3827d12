package org.rlsf.score;

/**
 * One row of the traces table: a CoT-decoded branch with its answer span and confidence, or an error
 * row (branch −1, {@code error} set) for a prompt that could not be decoded. Arrays may be empty,
 * never null.
 */
public record TraceRecord(String promptId, String task, int branch, String prompt, int[] promptTokens, String traceText,
                          int[] traceTokens, float[] tokenLogProbs, String answer, int spanStart, int spanEnd,
                          double confidence, double confidenceMeanProb, double confidenceNegEntropy,
                          int[] elicitedTokens, double firstTokenProb, String finishReason, String error) {

    public static TraceRecord error(String promptId, String task, String prompt, String error) {
        return new TraceRecord(promptId, task, -1, prompt, new int[0], "", new int[0], new float[0], null, 0, 0, 0, 0, 0,
                new int[0], 0, "error", error);
    }
}
