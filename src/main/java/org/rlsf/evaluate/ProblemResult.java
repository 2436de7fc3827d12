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
 * @param branchRewards   a reward model's score of every branch (prompt + trace), or empty when no reward model
 *                        scored this evaluation
 */
public record ProblemResult(String problemId, String task, String gold, String prediction, boolean correct,
                            double confidence, Boolean cotStyle, int generatedTokens, int chosenBranch,
                            String[] branchAnswers, double[] branchConfidences, boolean[] branchCorrect,
                            boolean[] branchCotStyle, String error, double[] branchRewards) implements Serializable {

    public ProblemResult {
        if (branchRewards.length != 0 && branchRewards.length != branchConfidences.length) {
            throw new IllegalArgumentException("problem " + problemId + ": " + branchRewards.length + " branch rewards for "
                    + branchConfidences.length + " branches");
        }
    }

    /** A result no reward model scored. */
    public ProblemResult(String problemId, String task, String gold, String prediction, boolean correct,
                         double confidence, Boolean cotStyle, int generatedTokens, int chosenBranch,
                         String[] branchAnswers, double[] branchConfidences, boolean[] branchCorrect,
                         boolean[] branchCotStyle, String error) {
        this(problemId, task, gold, prediction, correct, confidence, cotStyle, generatedTokens, chosenBranch,
                branchAnswers, branchConfidences, branchCorrect, branchCotStyle, error, new double[0]);
    }

    /** This result with every branch scored by a reward model. */
    public ProblemResult withBranchRewards(double[] rewards) {
        return new ProblemResult(problemId, task, gold, prediction, correct, confidence, cotStyle, generatedTokens,
                chosenBranch, branchAnswers, branchConfidences, branchCorrect, branchCotStyle, error, rewards.clone());
    }
}
