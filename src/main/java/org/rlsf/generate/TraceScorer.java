package org.rlsf.generate;

import org.rlsf.config.GenerateConfig.SpanMethod;
import org.rlsf.model.Generation;
import org.rlsf.model.KvCacheDecoder;
import org.rlsf.model.TokenChooser;
import org.rlsf.model.Tokenizer;
import org.rlsf.score.AnswerSpan;
import org.rlsf.score.Confidence;
import org.rlsf.score.Span;
import org.rlsf.tasks.AnswerParser;
import org.rlsf.tasks.Problem;
import org.rlsf.tasks.Prompts;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Answer span and confidence of CoT-decoded branches (method.md §1.2–1.3). The elicitation path
 * appends the task's suffix (" So the answer is" / " Available options are: … So the correct option
 * is") to prompt + trace and greedily generates up to {@code maxAnswerTokens}; the span is the longest
 * common run with the trace ({@link AnswerSpan}). The {@code TRACE} method, for built-in tasks whose
 * traces state their result, locates the parsed answer at its last occurrence in the trace itself
 * (§5.6: a tiny model's elicited continuation often disagrees with its own trace).
 * Gold answers are never read here.
 */
public final class TraceScorer {

    private final KvCacheDecoder decoder;
    private final Tokenizer tokenizer;
    private final Set<Integer> ignored;

    public TraceScorer(KvCacheDecoder decoder, Tokenizer tokenizer) {
        this.decoder = decoder;
        this.tokenizer = tokenizer;
        Set<Integer> ig = new HashSet<>(List.of(tokenizer.padId(), tokenizer.bosId(), tokenizer.eosId()));
        for (String s : List.of("\n", ".", " .")) {
            int[] ids = tokenizer.encode(s);
            if (ids.length == 1) {
                ig.add(ids[0]);
            }
        }
        this.ignored = Set.copyOf(ig);
    }

    /**
     * A scored branch.
     *
     * @param text          the trace's text (EOS dropped)
     * @param answer        the parsed answer (number or option letter), null when none
     * @param elicited      the elicitation continuation's tokens (empty for the TRACE method)
     * @param span          answer span in the trace's tokens (NONE when not found)
     * @param confidence    margin confidence (0 when no span)
     * @param meanProb      mean span-token probability
     * @param negEntropy    negative mean span entropy
     */
    public record Scored(CotDecoder.Branch branch, String text, String answer, int[] elicited, Span span,
                         double confidence, double meanProb, double negEntropy) {
    }

    public List<Scored> score(Problem problem, int[] promptTokens, List<CotDecoder.Branch> branches, SpanMethod method,
                              int maxAnswerTokens) {
        List<String> texts = branches.stream().map(b -> tokenizer.decode(b.tokens())).toList();
        List<int[]> elicited = new ArrayList<>();
        if (method == SpanMethod.ELICITATION && !branches.isEmpty()) {
            int[] suffix = tokenizer.encode(Prompts.elicitation(problem));
            List<int[]> inputs = new ArrayList<>();
            for (CotDecoder.Branch b : branches) {
                int[] trace = b.finish() == Generation.FinishReason.EOS ? Arrays.copyOf(b.tokens(), b.tokens().length - 1) : b.tokens();
                int[] in = new int[promptTokens.length + trace.length + suffix.length];
                System.arraycopy(promptTokens, 0, in, 0, promptTokens.length);
                System.arraycopy(trace, 0, in, promptTokens.length, trace.length);
                System.arraycopy(suffix, 0, in, promptTokens.length + trace.length, suffix.length);
                inputs.add(in);
            }
            int room = decoder.model().contextLength() - 1 - inputs.stream().mapToInt(a -> a.length).max().orElse(0);
            int budget = Math.max(1, Math.min(maxAnswerTokens, room));
            for (Generation g : decoder.generate(inputs, budget, tokenizer.bosId(), tokenizer.eosId(), TokenChooser.greedy(),
                    0, KvCacheDecoder.StepObserver.NONE)) {
                elicited.add(g.tokens());
            }
        }
        List<Scored> out = new ArrayList<>();
        for (int i = 0; i < branches.size(); i++) {
            CotDecoder.Branch b = branches.get(i);
            String answer = parseAnswer(problem, texts.get(i));
            int[] el = method == SpanMethod.ELICITATION ? elicited.get(i) : new int[0];
            if (answer == null && el.length > 0) {
                answer = parseAnswer(problem, tokenizer.decode(el));
            }
            Span span = method == SpanMethod.ELICITATION ? AnswerSpan.locate(b.tokens(), el, ignored::contains)
                    : locateInTrace(b.tokens(), answer);
            out.add(new Scored(b, texts.get(i), answer, el, span, Confidence.margin(b.scores(), span),
                    Confidence.meanProbability(b.scores(), span), Confidence.negativeEntropy(b.scores(), span)));
        }
        return out;
    }

    static String parseAnswer(Problem p, String text) {
        if (!p.options().isEmpty()) {
            return AnswerParser.predictOption(text, p.letters()).orElse(null);
        }
        return AnswerParser.predictNumber(text).map(java.math.BigDecimal::toPlainString).orElse(null);
    }

    /** The last token run of the trace whose text is exactly the answer (surrounding spaces ignored). */
    Span locateInTrace(int[] tokens, String answer) {
        if (answer == null) {
            return Span.NONE;
        }
        for (int end = tokens.length; end > 0; end--) {
            for (int start = end - 1; start >= 0 && end - start <= answer.length() + 1; start--) {
                String piece = tokenizer.decode(Arrays.copyOfRange(tokens, start, end)).trim();
                if (piece.equals(answer)) {
                    boolean glued = start > 0 && Character.isDigit(lastChar(tokenizer.decode(new int[]{tokens[start - 1]})))
                            && !tokenizer.decode(new int[]{tokens[start]}).startsWith(" ");
                    if (!glued) {
                        return new Span(start, end);
                    }
                }
            }
        }
        return Span.NONE;
    }

    private static char lastChar(String s) {
        return s.isEmpty() ? ' ' : s.charAt(s.length() - 1);
    }
}
