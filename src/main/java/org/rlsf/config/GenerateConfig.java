package org.rlsf.config;

import com.typesafe.config.Config;

/**
 * Self-feedback data: CoT-decoding, answer spans, confidence ({@code rlsf generate}, method.md §1.1–1.3).
 *
 * @param k               branches per prompt (the top-k first tokens)
 * @param maxNewTokens    tokens per branch at most
 * @param firstTokenFloor branches after the first need at least this first-token probability (0 = off)
 * @param batchRows       branch rows decoded together on one executor
 * @param maxAnswerTokens greedy tokens after the elicitation suffix
 * @param spanMethod      how the answer span is located
 * @param promptTemplate  how a problem becomes the model's prompt text (every stage that decodes uses it)
 * @param shards          work shards (Parquet partitions; the unit of resume)
 * @param seed            recorded with every row (decoding is greedy)
 */
public record GenerateConfig(int k, int maxNewTokens, double firstTokenFloor, int batchRows, int maxAnswerTokens,
                             SpanMethod spanMethod, PromptTemplate promptTemplate, int shards, long seed) {
    /** Where the answer span comes from (method.md §1.2). */
    public enum SpanMethod {
        /** Append the elicitation sentence and match its greedy continuation in the trace (any model). */
        ELICITATION,
        /** The answer as the built-in task's trace states it (last equation's result, or the letter after "so option"). */
        TRACE;

        public String configName() {
            return Require.configName(this);
        }
    }

    /** How a problem becomes prompt text. */
    public enum PromptTemplate {
        /** {@code Q: <question>\nA:} (multiple choice: an options line before {@code A:}), for base models. */
        PLAIN,
        /** The question (and options line) as the user's message in the model's own chat template, for instruct models. */
        CHAT;

        public String configName() {
            return Require.configName(this);
        }
    }

    public GenerateConfig {
        Require.that(k >= 1, "generate.k", ">= 1", k);
        Require.that(maxNewTokens >= 1, "generate.max-new-tokens", ">= 1", maxNewTokens);
        Require.that(firstTokenFloor >= 0 && firstTokenFloor < 1, "generate.first-token-floor", "in [0, 1)", firstTokenFloor);
        Require.that(batchRows >= 1, "generate.batch-rows", ">= 1", batchRows);
        Require.that(maxAnswerTokens >= 1, "generate.max-answer-tokens", ">= 1", maxAnswerTokens);
        Require.that(spanMethod != null, "generate.span-method", "set", null);
        Require.that(promptTemplate != null, "generate.prompt-template", "set", null);
        Require.that(shards >= 1, "generate.shards", ">= 1", shards);
    }

    static GenerateConfig fromConfig(Config c) {
        return new GenerateConfig(c.getInt("k"), c.getInt("max-new-tokens"), c.getDouble("first-token-floor"),
                c.getInt("batch-rows"), c.getInt("max-answer-tokens"),
                Require.choice("generate.span-method", c.getString("span-method"), SpanMethod.class),
                Require.choice("generate.prompt-template", c.getString("prompt-template"), PromptTemplate.class), c.getInt("shards"),
                c.getLong("seed"));
    }
}
