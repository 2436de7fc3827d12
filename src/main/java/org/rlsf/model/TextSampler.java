package org.rlsf.model;

import org.rlsf.config.SampleConfig;

import java.util.ArrayList;
import java.util.List;

/** Text in, text out: encodes prompts, decodes them as one batch with the KV cache, decodes the tokens. */
public final class TextSampler {
    private TextSampler() {
    }

    /**
     * @param prompt        the prompt text
     * @param completion    generated text (EOS dropped)
     * @param tokens        generated tokens, EOS included
     * @param finish        EOS or MAX_TOKENS
     * @param meanLogProb   mean natural-log probability of the generated tokens
     */
    public record Completion(String prompt, String completion, int tokens, Generation.FinishReason finish,
                             double meanLogProb) {
    }

    /**
     * @param decoding the decoding steps; null for the backend's default
     * @throws IllegalArgumentException naming the prompt (1-based) and offset of a character the
     *                                  tokenizer cannot encode, or a prompt too long for the context
     */
    public static List<Completion> complete(Checkpoint ckpt, List<String> prompts, SampleConfig cfg,
                                            KvCacheDecoder.Attention decoding) {
        Tokenizer tok = ckpt.tokenizer();
        List<int[]> encoded = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            try {
                encoded.add(tok.encode(prompts.get(i)));
            } catch (Tokenizer.UnknownCharacterException e) {
                throw new IllegalArgumentException("prompt " + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        List<Generation> gens = ckpt.decoder(decoding).generate(encoded, cfg.maxNewTokens(), tok.bosId(), tok.eosId(),
                TokenChooser.sampling(cfg.temperature(), cfg.topK()), cfg.seed(), KvCacheDecoder.StepObserver.NONE);
        List<Completion> out = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            Generation g = gens.get(i);
            double sum = 0;
            for (float lp : g.tokenLogProbs()) {
                sum += lp;
            }
            out.add(new Completion(prompts.get(i), tok.decode(g.tokens()), g.tokens().length, g.finish(),
                    g.tokens().length == 0 ? 0 : sum / g.tokens().length));
        }
        return out;
    }
}
