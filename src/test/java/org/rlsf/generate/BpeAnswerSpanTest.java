package org.rlsf.generate;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.rlsf.model.hf.HfConfig;
import org.rlsf.model.hf.HfTokenizer;
import org.rlsf.score.Span;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trace answer span on GPT-2's byte-level BPE: a number is one token or several ("1246" one, "123456789" three),
 * and its leading space belongs to its first token; the span is the answer's last occurrence, as token positions.
 */
class BpeAnswerSpanTest {
    private static final Path DIR = Path.of("src/test/resources/hf/gpt2-bpe-smoke");

    private static HfTokenizer gpt2() throws Exception {
        return HfTokenizer.load(DIR, HfConfig.parse(new ObjectMapper().readTree(DIR.resolve("config.json").toFile()), "config.json"));
    }

    @Test
    void findsSingleAndMultiTokenNumbersAtTheirLastOccurrence() throws Exception {
        HfTokenizer tok = gpt2();
        TraceScorer scorer = new TraceScorer(null, tok);   // locating a span needs only the tokenizer
        for (String answer : new String[]{"1246", "123456789", "-7", "3.5"}) {
            String trace = " We add " + answer + " to itself: " + answer + " + 0 = " + answer + ". The answer is " + answer + ".";
            int[] ids = tok.encode(trace);
            Span span = scorer.locateInTrace(ids, answer);
            assertTrue(span.end() > span.start(), answer + ": no span in " + Arrays.toString(ids));
            assertEquals(answer, tok.decode(Arrays.copyOfRange(ids, span.start(), span.end())).trim(), answer);
            assertEquals(ids.length - 1, span.end(), answer + ": the last occurrence, before the final period");
        }
        assertTrue(tok.encode(" 123456789").length > 1, "GPT-2 splits long numbers into several tokens");
    }

    @Test
    void noSpanForAnAnswerTheTraceDoesNotContain() throws Exception {
        HfTokenizer tok = gpt2();
        TraceScorer scorer = new TraceScorer(null, tok);
        int[] ids = tok.encode(" The answer is 1246.");
        assertEquals(Span.NONE, scorer.locateInTrace(ids, "246"));   // inside 1246, not a number of its own
        assertEquals(Span.NONE, scorer.locateInTrace(ids, null));
    }
}
