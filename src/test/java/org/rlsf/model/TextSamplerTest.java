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
                new SampleConfig(5, 0, 0, 1));
        assertEquals(2, out.size());
        for (TextSampler.Completion c : out) {
            assertTrue(c.tokens() <= 5);
            assertTrue(c.meanLogProb() <= 0);
        }
        assertEquals("Q:", out.get(1).prompt());
    }

    @Test
    void aCharacterOutsideTheVocabularyNamesThePromptAndOffset() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TextSampler.complete(ckpt, List.of("Q: 3", "Q: 3 €"), new SampleConfig(5, 0, 0, 1)));
        assertEquals("prompt 2: character '€' (U+20AC) at offset 5 is not in the tokenizer's vocabulary", e.getMessage());
    }
}
