package org.rlsf.tasks;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.BufferedReader;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AnswerParserTest {
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "18|18", "18.0|18", "18.50|18.5", "-3|-3", "+7|7", "1,234|1234", "1234|1234", "12,345,678|12345678",
            "0.5|0.5", "$5|5", "18.|18", "-1,000.25|-1000.25"})
    void numbers(String text, String expected) {
        assertEquals(0, new BigDecimal(expected).compareTo(AnswerParser.parseNumber(text).orElseThrow()));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"abc", "1,23", "1 2", "''", "12a"})
    void notNumbers(String text) {
        assertTrue(AnswerParser.parseNumber(text).isEmpty(), text);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            " 7+3=10. 10-4=6. So the answer is 6.|6",
            " So the answer is 1,234.|1234",
            " So the answer is -3.|-3",
            " 7+3=10. 10-4=6.|6",                         // no elicitation: last number, not -4
            " The answer is 18.0 apples, not 20.|18",
            " answer is 5. Then answer is 7.|7",           // the last "answer is"
            " 10-4|4"})
    void freeFormPredictions(String completion, String expected) {
        assertEquals(0, new BigDecimal(expected).compareTo(AnswerParser.predictNumber(completion).orElseThrow()));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            " So the correct option is B.|B",
            " 3+4=7. So the correct option is C. Not A.|C",  // first letter after the phrase
            " I think (D) fits best, or maybe B|B",           // no phrase: last standalone letter
            " So the correct option is E.|''"})             // E does not exist with 4 options: falls back to the last existing one (none)
    void optionPredictions(String completion, String expected) {
        Optional<String> p = AnswerParser.predictOption(completion, List.of("A", "B", "C", "D"));
        assertEquals(expected.isEmpty() ? Optional.empty() : Optional.of(expected), p);
    }

    @Test
    void lettersInsideWordsAreNotStandalone() {
        assertEquals(Optional.empty(), AnswerParser.predictOption(" Because Bob and Carl", List.of("A", "B", "C")));
    }

    @Test
    void correctnessComparesNumerically() {
        Problem p = new Problem("p", "arith", "q?", "18", List.of());
        assertTrue(AnswerParser.correct(p, " So the answer is 18.0."));
        assertFalse(AnswerParser.correct(p, " So the answer is 19."));
        Problem mc = new Problem("m", "mcq", "q?", "B", List.of("1", "2", "3"));
        assertTrue(AnswerParser.correct(mc, " So the correct option is B."));
        assertFalse(AnswerParser.correct(mc, " So the correct option is C."));
    }

    @Test
    void gsm8kGoldNeedsTheMarker() {
        assertEquals(0, new BigDecimal("72").compareTo(AnswerParser.gsm8kGold("48/2 = <<48/2=24>>24\n#### 72")));
        assertThrows(IllegalArgumentException.class, () -> AnswerParser.gsm8kGold("no marker 72"));
    }

    @Test
    void everyGsm8kGoldAnswerParses() throws Exception {
        Path dir = Path.of("src/test/resources/gsm8k");   // in the repository, with its licence
        assertTrue(Files.isDirectory(dir), "GSM8K data expected at " + dir.toAbsolutePath());
        ObjectMapper json = new ObjectMapper();
        int parsed = 0;
        for (String file : List.of("train.jsonl", "test.jsonl")) {
            try (BufferedReader in = Files.newBufferedReader(dir.resolve(file))) {
                for (String line; (line = in.readLine()) != null; ) {
                    AnswerParser.gsm8kGold(json.readTree(line).get("answer").asText());
                    parsed++;
                }
            }
        }
        assertEquals(7473 + 1319, parsed);
    }
}
