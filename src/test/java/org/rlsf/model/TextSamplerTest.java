package org.rlsf.model;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.rlsf.TestModels;
import org.rlsf.config.ModelConfig;
import org.rlsf.config.SampleConfig;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TextSamplerTest {
    private final WordTokenizer tok = WordTokenizer.train(List.of("Q: What is 3 plus 4?\nA: 3+4=7."), 64);
    private final ModelConfig model = TestModels.small(tok.vocabSize());
    private final Checkpoint ckpt = new Checkpoint(TestModels.graph(model, 8, DataType.FLOAT), tok, model, Map.of(), "-");

    @Test
    void completesEveryPromptWithinTheTokenBudget() {
        List<TextSampler.Completion> out = TextSampler.complete(ckpt, List.of("Q: What is 3?\nA:", "Q:"),
                new SampleConfig(5, 0, 0, 1), null);
        assertEquals(2, out.size());
        // the same greedy generation straight from the decoder: the completion reports its tokens and mean log-prob
        List<Generation> direct = ckpt.decoder(null).generate(List.of(tok.encode("Q: What is 3?\nA:"), tok.encode("Q:")), 5,
                tok.bosId(), tok.eosId(), TokenChooser.greedy(), 1, KvCacheDecoder.StepObserver.NONE);
        for (int i = 0; i < out.size(); i++) {
            TextSampler.Completion c = out.get(i);
            float[] lp = direct.get(i).tokenLogProbs();
            assertTrue(c.tokens() >= 1 && c.tokens() <= 5, "tokens " + c.tokens());
            assertEquals(direct.get(i).tokens().length, c.tokens());
            double mean = 0;
            for (float x : lp) {
                mean += x / lp.length;
            }
            assertEquals(mean, c.meanLogProb(), 1e-6);
            assertEquals(tok.decode(direct.get(i).tokens()), c.completion());
        }
        assertEquals("Q:", out.get(1).prompt());
    }

    @Test
    void aCharacterOutsideTheVocabularyNamesThePromptAndOffset() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TextSampler.complete(ckpt, List.of("Q: 3", "Q: 3 €"), new SampleConfig(5, 0, 0, 1), null));
        assertEquals("prompt 2: character '€' (U+20AC) at offset 5 is not in the tokenizer's vocabulary", e.getMessage());
    }
}
