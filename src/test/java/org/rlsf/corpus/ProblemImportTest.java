package org.rlsf.corpus;

import org.junit.jupiter.api.Test;
import org.rlsf.tasks.Problem;

import java.io.BufferedReader;
import java.io.StringReader;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProblemImportTest {
    private static ProblemImport.Result read(String format, String text, boolean skip) {
        return ProblemImport.read(format, new BufferedReader(new StringReader(text)), "in.jsonl", skip);
    }

    @Test
    void gsm8kRowsTakeTheNumberAfterTheMarker() {
        ProblemImport.Result r = read("gsm8k", """
                {"question": "Nat sold 48 clips and then half as many. How many in all?", "answer": "48/2 = 24\\n48+24 = 72\\n#### 72"}
                {"question": "Big one?", "answer": "... #### 1,600"}
                """, false);
        assertEquals(List.of("72", "1600"), r.problems().stream().map(Problem::answer).toList());
        assertEquals("gsm8k-1", r.problems().get(0).problemId());
    }

    @Test
    void multipleChoiceInArcAndCsqaShapes() {
        ProblemImport.Result r = read("mc-jsonl", """
                {"id": "arc1", "question": "Which is a gas?", "choices": {"text": ["ice", "steam", "rock"], "label": ["1", "2", "3"]}, "answerKey": "2"}
                {"id": "csqa1", "question": {"stem": "Where do fish live?", "choices": [{"label": "A", "text": "tree"}, {"label": "B", "text": "sea"}]}, "answerKey": "B"}
                """, false);
        Problem arc = r.problems().get(0);
        assertEquals("B", arc.answer());                // labels re-lettered A.. in order
        assertEquals(List.of("ice", "steam", "rock"), arc.options());
        assertEquals("Where do fish live?", r.problems().get(1).question());
        assertEquals("B", r.problems().get(1).answer());
    }

    @Test
    void promptsHaveNoAnswer() {
        Problem p = read("prompts", "{\"prompt\": \"Tell me a number\"}\n", false).problems().get(0);
        assertNull(p.answer());
        assertEquals("prompts", p.task());
    }

    @Test
    void malformedRowsNameFileLineAndField() {
        assertEquals("in.jsonl, line 2, field 'answer': no '#### <number>' line",
                assertThrows(CorpusFormatException.class, () -> read("gsm8k",
                        "{\"question\":\"a\",\"answer\":\"#### 1\"}\n{\"question\":\"b\",\"answer\":\"12\"}\n", false)).getMessage());
        assertEquals("in.jsonl, line 1, field 'answerKey': 'Z' is not one of the labels [A, B]",
                assertThrows(CorpusFormatException.class, () -> read("mc-jsonl",
                        "{\"question\":\"q\",\"choices\":{\"label\":[\"A\",\"B\"],\"text\":[\"x\",\"y\"]},\"answerKey\":\"Z\"}\n", false)).getMessage());
        assertEquals("in.jsonl, line 1, field 'question': missing",
                assertThrows(CorpusFormatException.class, () -> read("prompts", "{\"text\":\"x\"}\n", false)).getMessage());
        assertEquals("in.jsonl, line 2, field 'id': duplicate id 'a'",
                assertThrows(CorpusFormatException.class, () -> read("prompts",
                        "{\"id\":\"a\",\"prompt\":\"x\"}\n{\"id\":\"a\",\"prompt\":\"y\"}\n", false)).getMessage());
    }

    @Test
    void skipBadRowsKeepsEveryGoodRowAndReportsTheRest() {
        ProblemImport.Result r = read("gsm8k", """
                {"question": "ok 1", "answer": "#### 3"}
                {"question": "bad", "answer": "three"}
                not json
                {"question": "ok 2", "answer": "#### -4.5"}
                """, true);
        assertEquals(List.of("3", "-4.5"), r.problems().stream().map(Problem::answer).toList());
        assertEquals(List.of(2, 3), r.badRows().stream().map(ProblemImport.BadRow::line).toList());
        assertEquals("answer", r.badRows().get(0).field());
    }

    @Test
    void emptyInputIsAnError() {
        assertThrows(CorpusFormatException.class, () -> read("prompts", "\n\n", false));
    }

    /** Files from other tools: a UTF-8 byte-order mark (Windows editors) imports; bytes that are not UTF-8 fail by line. */
    @Test
    void aByteOrderMarkImportsAndInvalidUtf8FailsNamingTheLine(@org.junit.jupiter.api.io.TempDir java.io.File dir)
            throws Exception {
        org.rlsf.io.FileStore store = org.rlsf.io.FileStore.local();
        java.io.File bom = new java.io.File(dir, "bom.jsonl");
        byte[] row = "{\"question\": \"1+1?\", \"answer\": \"#### 2\"}\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        b.write(new byte[]{(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
        b.write(row);
        java.nio.file.Files.write(bom.toPath(), b.toByteArray());
        try (var in = store.openText(org.rlsf.io.FileStore.path(bom.getAbsolutePath()))) {
            assertEquals("2", ProblemImport.read("gsm8k", in, "bom.jsonl", false).problems().get(0).answer());
        }
        java.io.File bad = new java.io.File(dir, "latin1.jsonl");
        java.io.ByteArrayOutputStream l = new java.io.ByteArrayOutputStream();
        l.write(row);
        l.write("{\"question\": \"caf".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        l.write(0xE9);   // 'é' in Latin-1: not UTF-8
        l.write("?\", \"answer\": \"#### 3\"}\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        java.nio.file.Files.write(bad.toPath(), l.toByteArray());
        for (boolean skip : new boolean[]{false, true}) {
            try (var in = store.openText(org.rlsf.io.FileStore.path(bad.getAbsolutePath()))) {
                CorpusFormatException e = org.junit.jupiter.api.Assertions.assertThrows(CorpusFormatException.class,
                        () -> ProblemImport.read("gsm8k", in, "latin1.jsonl", skip));
                assertTrue(e.getMessage().startsWith("latin1.jsonl, line 2") && e.getMessage().contains("not valid UTF-8"),
                        e.getMessage());
            }
        }
    }
}
