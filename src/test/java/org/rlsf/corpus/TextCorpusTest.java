package org.rlsf.corpus;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.StringReader;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TextCorpusTest {
    private static List<Document> read(String text, String name) {
        return TextCorpus.read(new BufferedReader(new StringReader(text)), name);
    }

    @Test
    void jsonlReadsTheTextFieldAndSkipsBlankLines() {
        List<Document> docs = read("{\"text\":\"Q: a\\nA: b\"}\n\n{\"text\":\"c\",\"id\":2}\n", "c.jsonl");
        assertEquals(2, docs.size());
        assertEquals("Q: a\nA: b", docs.get(0).text());
        assertEquals(3, docs.get(1).line());
    }

    @Test
    void plainTextSplitsOnBlankLines() {
        List<Document> docs = read("Q: a\nA: b\n\n\nQ: c\nA: d\n", "c.txt");
        assertEquals(List.of("Q: a\nA: b", "Q: c\nA: d"), docs.stream().map(Document::text).toList());
        assertEquals(5, docs.get(1).line());
    }

    @Test
    void emptyCorpusIsAnError() {
        CorpusFormatException e = assertThrows(CorpusFormatException.class, () -> read("\n \n", "empty.jsonl"));
        assertTrue(e.getMessage().contains("empty.jsonl is empty"), e.getMessage());
        assertThrows(CorpusFormatException.class, () -> read("", "empty.txt"));
    }

    @Test
    void malformedRowsNameFileLineAndField() {
        assertEquals("bad.jsonl, line 2, field 'text': missing",
                assertThrows(CorpusFormatException.class, () -> read("{\"text\":\"ok\"}\n{\"txt\":\"x\"}\n", "bad.jsonl")).getMessage());
        assertEquals("bad.jsonl, line 1, field 'text': expected a string, got NUMBER",
                assertThrows(CorpusFormatException.class, () -> read("{\"text\":5}\n", "bad.jsonl")).getMessage());
        assertTrue(assertThrows(CorpusFormatException.class, () -> read("{\"text\":\"ok\"}\n{oops\n", "bad.jsonl"))
                .getMessage().startsWith("bad.jsonl, line 2: not valid JSON"));
        assertEquals("bad.jsonl, line 1: expected a JSON object",
                assertThrows(CorpusFormatException.class, () -> read("[1,2]\n", "bad.jsonl")).getMessage());
    }
}
