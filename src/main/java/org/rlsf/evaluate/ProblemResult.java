package org.rlsf.evaluate;

import java.io.Serializable;

/**
 * The evaluation of one labelled problem: the prediction of the chosen branch (greedy: the only
 * branch; CoT-decoding: the most confident one), its correctness and answer-span confidence, the
 * decoding cost, and every branch's answer, confidence and correctness. Arrays are never null.
 *
 * @param cotStyle        whether the chosen output took the task's chain-of-thought style; null when
 *                        the task has no known style (imported prompts)
 * @param generatedTokens tokens decoded for this problem over all branches (inference cost; the
 *                        elicitation tokens used only to measure confidence are not counted)
 * @param chosenBranch    index of the chosen branch, −1 when none (error)
 * @param error           why the problem could not be decoded, else null (counted as wrong, confidence 0)
 */
public record ProblemResult(String problemId, String task, String gold, String prediction, boolean correct,
                            double confidence, Boolean cotStyle, int generatedTokens, int chosenBranch,
                            String[] branchAnswers, double[] branchConfidences, boolean[] branchCorrect,
                            boolean[] branchCotStyle, String error) implements Serializable {
}
