package org.rlsf.generate;

import org.rlsf.config.ComputeConfig;
import org.rlsf.config.GenerateConfig;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.KvCacheDecoder;
import org.rlsf.model.Tokenizer;
import org.rlsf.score.TraceRecord;
import org.rlsf.tasks.Problem;
import org.rlsf.tasks.Prompts;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The generate stage for one shard of prompts (plain Java; Spark calls it once per shard on an
 * executor): encode prompts, CoT-decode them in batches, score every branch. A prompt that cannot
 * be encoded or is too long becomes an error row; the others go on. Never reads gold answers.
 */
public final class ShardGenerator {
    private ShardGenerator() {
    }

    /**
     * Generation settings; serialisable so Spark ships them with the task. {@code decoding}: how the decoder's steps
     * run (null: the backend's default).
     */
    public record Settings(int k, int maxNewTokens, double firstTokenFloor, int batchRows, int maxAnswerTokens,
                           GenerateConfig.SpanMethod spanMethod, KvCacheDecoder.Attention decoding,
                           GenerateConfig.PromptTemplate promptTemplate) implements Serializable {
        public Settings(int k, int maxNewTokens, double firstTokenFloor, int batchRows, int maxAnswerTokens,
                        GenerateConfig.SpanMethod spanMethod) {
            this(k, maxNewTokens, firstTokenFloor, batchRows, maxAnswerTokens, spanMethod, null,
                    GenerateConfig.PromptTemplate.PLAIN);
        }

        /** The {@code generate} section's settings with {@code k} branches (evaluation decodes 1 or evaluate.k). */
        public static Settings of(GenerateConfig g, int k, ComputeConfig compute) {
            return new Settings(k, g.maxNewTokens(), g.firstTokenFloor(), g.batchRows(), g.maxAnswerTokens(), g.spanMethod(),
                    KvCacheDecoder.Attention.of(compute.decoding()), g.promptTemplate());
        }
    }

    /** The prompt text of {@code p} for a model with tokenizer {@code tok} under the prompt template {@code t}. */
    public static String prompt(Problem p, Tokenizer tok, GenerateConfig.PromptTemplate t) {
        return t == GenerateConfig.PromptTemplate.CHAT ? tok.chatPrompt(Prompts.question(p)) : Prompts.qa(p);
    }

    /**
     * Fails before any work is shipped when the model cannot take the prompt template (chat without a chat template, or
     * one that does not render), with the reason.
     */
    public static void checkPromptTemplate(Tokenizer tok, Settings s) {
        if (s.promptTemplate() == GenerateConfig.PromptTemplate.CHAT) {
            try {
                tok.chatPrompt("What is 1 + 1?");
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("generate.prompt-template = chat: " + e.getMessage(), e);
            }
        }
    }

    public static List<TraceRecord> run(Checkpoint ckpt, List<Problem> problems, Settings s) {
        Tokenizer tok = ckpt.tokenizer();
        KvCacheDecoder decoder = ckpt.decoder(s.decoding());
        CotDecoder cot = new CotDecoder(decoder, tok.bosId(), tok.eosId(), new java.util.HashSet<>(java.util.List.of(tok.padId(), tok.bosId(), tok.eosId())));   // may coincide (GPT-2: one id)
        TraceScorer scorer = new TraceScorer(decoder, tok);
        int context = ckpt.model().contextLength();
        List<TraceRecord> out = new ArrayList<>();
        List<Problem> ok = new ArrayList<>();
        List<int[]> encoded = new ArrayList<>();
        List<String> prompts = new ArrayList<>();
        for (Problem p : problems) {
            String prompt = prompt(p, tok, s.promptTemplate());
            try {
                int[] ids = tok.encode(prompt);
                int need = ids.length + 1 + s.maxNewTokens() + tok.encode(Prompts.elicitation(p)).length + s.maxAnswerTokens();
                if (need > context) {
                    out.add(TraceRecord.error(p.problemId(), p.task(), prompt, "prompt of " + ids.length + " tokens + max_new_tokens "
                            + s.maxNewTokens() + " + answer elicitation exceeds the context length " + context));
                    continue;
                }
                ok.add(p);
                encoded.add(ids);
                prompts.add(prompt);
            } catch (Tokenizer.UnknownCharacterException e) {
                out.add(TraceRecord.error(p.problemId(), p.task(), prompt, "tokenizer: " + e.getMessage()));
            }
        }
        List<List<CotDecoder.Branch>> branches = cot.decode(encoded,
                new CotDecoder.Settings(s.k(), s.maxNewTokens(), s.firstTokenFloor(), s.batchRows()));
        for (int i = 0; i < ok.size(); i++) {
            Problem p = ok.get(i);
            for (TraceScorer.Scored sc : scorer.score(p, encoded.get(i), branches.get(i), s.spanMethod(), s.maxAnswerTokens())) {
                CotDecoder.Branch b = sc.branch();
                out.add(new TraceRecord(p.problemId(), p.task(), b.branch(), prompts.get(i), encoded.get(i), sc.text(), b.tokens(),
                        b.scores().logProb(), sc.answer(), sc.span().start(), sc.span().end(), sc.confidence(), sc.meanProb(),
                        sc.negEntropy(), sc.elicited(), b.scores().chosenProb()[0], b.finish().name().toLowerCase(), null));
            }
        }
        return out;
    }
}
