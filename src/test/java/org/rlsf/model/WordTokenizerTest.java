package org.rlsf.model;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WordTokenizerTest {
    private final List<String> corpus = List.of("Q: Tom has 12 apples.\nA: 12+3=15. So the answer is 15.",
            "Q: Ann has 3 pens.\nA: So the answer is 3.");

    @Test
    void wordsKeepTheirLeadingSpaceAndDigitsAreSingleTokens() {
        WordTokenizer t = WordTokenizer.train(corpus, 200);
        int[] ids = t.encode("A: 12+3=15. So the answer");
        StringBuilder pieces = new StringBuilder();
        for (int id : ids) {
            pieces.append('[').append(t.token(id)).append(']');
        }
        assertEquals("[A][:][ 1][2][+][3][=][1][5][.][ So][ the][ answer]", pieces.toString());
    }

    @Test
    void decodeInvertsEncodeIncludingUnseenWordsSpelledWithCharacters() {
        WordTokenizer t = WordTokenizer.train(corpus, 200);
        String text = "Q: Tom has 53 pens. Sam.\nA:";   // "Sam" never occurs as a word
        assertEquals(text, t.decode(t.encode(text)));
    }

    @Test
    void specialsComeFirstAndNeverFromEncode() {
        WordTokenizer t = WordTokenizer.train(corpus, 200);
        assertEquals(0, t.padId());
        assertEquals(1, t.bosId());
        assertEquals(2, t.eosId());
        for (int id : t.encode(corpus.get(0))) {
            assertTrue(id > 2);
        }
        assertEquals("Q", t.decode(new int[]{1, t.encode("Q")[0], 2, 0}));
    }

    @Test
    void vocabularyIsDeterministicCappedAndRoundTripsThroughJson() {
        WordTokenizer a = WordTokenizer.train(corpus, 40);
        WordTokenizer b = WordTokenizer.train(corpus, 40);
        assertEquals(a.toJson(), b.toJson());
        assertEquals(40, a.vocabSize());
        Tokenizer back = Tokenizer.fromJson(a.toJson());
        assertArrayEquals(a.encode(corpus.get(1)), back.encode(corpus.get(1)));
    }

    @Test
    void unknownCharacterNamesItAndItsOffset() {
        WordTokenizer t = WordTokenizer.train(corpus, 200);
        Tokenizer.UnknownCharacterException e = assertThrows(Tokenizer.UnknownCharacterException.class,
                () -> t.encode("Q: Tom é"));
        assertEquals(7, e.offset());
        assertTrue(e.getMessage().contains("'é' (U+00E9) at offset 7"), e.getMessage());
    }

    @Test
    void tooManyCharactersForTheVocabularyIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WordTokenizer.train(corpus, 10));
        assertTrue(e.getMessage().contains("max-vocab=10"), e.getMessage());
    }
}
