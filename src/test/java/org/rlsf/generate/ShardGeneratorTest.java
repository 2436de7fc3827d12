package org.rlsf.generate;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.rlsf.TestModels;
import org.rlsf.config.ModelConfig;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.WordTokenizer;
import org.rlsf.score.TraceRecord;
import org.rlsf.tasks.ArithTask;
import org.rlsf.tasks.McqTask;
import org.rlsf.tasks.PretrainingTexts;
import org.rlsf.tasks.Problem;
import org.rlsf.tasks.Prompts;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardGeneratorTest {
    /** A random small model whose tokenizer covers the built-in tasks (shared with the generate job test). */
    static Checkpoint taskModel(int context) {
        List<Problem> ps = new ArrayList<>(TaskCorpus.generate(new ArithTask(), 40, 1, TaskCorpus.TRAIN));
        ps.addAll(TaskCorpus.generate(new McqTask(), 40, 1, TaskCorpus.TRAIN));
        List<String> texts = new ArrayList<>(PretrainingTexts.render(ps, 0.5, 1));
        texts.addAll(Prompts.vocabularyExtras());
        WordTokenizer tok = WordTokenizer.train(texts, 256);
        ModelConfig m = new ModelConfig(tok.vocabSize(), 16, 2, 2, 32, context, 1e-5, 0.3, 11);
        return new Checkpoint(TestModels.graph(m, 8, DataType.FLOAT), tok, m, Map.of(), "test");
    }

    private final Checkpoint ckpt = taskModel(160);
    private final ShardGenerator.Settings settings = new ShardGenerator.Settings(3, 8, 0, 16, 5, org.rlsf.config.GenerateConfig.SpanMethod.ELICITATION);

    @Test
    void everyPromptGetsKScoredBranches() {
        List<Problem> ps = TaskCorpus.generate(new McqTask(), 4, 2, TaskCorpus.HELDOUT);
        List<TraceRecord> rows = ShardGenerator.run(ckpt, ps, settings);
        assertEquals(12, rows.size());
        for (TraceRecord r : rows) {
            assertNull(r.error());
            assertEquals(r.traceTokens().length, r.tokenLogProbs().length);
            assertTrue(r.traceTokens().length <= 8);
            assertTrue(r.spanStart() <= r.spanEnd() && r.spanEnd() <= r.traceTokens().length);
            assertTrue(r.confidence() <= 1 && r.confidence() >= -1);
            if (r.spanEnd() == r.spanStart()) {
                assertEquals(0.0, r.confidence());
            }
            assertEquals(ckpt.tokenizer().decode(r.traceTokens()), r.traceText());
        }
    }

    @Test
    void badPromptsBecomeErrorRowsAndTheRestGoesOn() {
        List<Problem> ps = new ArrayList<>(TaskCorpus.generate(new ArithTask(), 2, 2, TaskCorpus.HELDOUT));
        ps.add(1, new Problem("weird", "arith", "Tom has 3 € 4?", null, List.of()));
        ps.add(new Problem("long", "arith", "Tom has 3 pens. ".repeat(30) + "How many?", null, List.of()));
        List<TraceRecord> rows = ShardGenerator.run(ckpt, ps, settings);
        TraceRecord weird = rows.stream().filter(r -> r.promptId().equals("weird")).findFirst().orElseThrow();
        assertEquals(-1, weird.branch());
        assertTrue(weird.error().contains("'€'"), weird.error());
        TraceRecord tooLong = rows.stream().filter(r -> r.promptId().equals("long")).findFirst().orElseThrow();
        assertTrue(tooLong.error().contains("exceeds the context length 160"), tooLong.error());
        assertEquals(6, rows.stream().filter(r -> r.error() == null).count());
    }

    @Test
    void goldAnswersDoNotInfluenceTheTraces() {
        List<Problem> ps = TaskCorpus.generate(new McqTask(), 3, 3, TaskCorpus.HELDOUT);
        List<Problem> scrambled = ps.stream().map(p -> new Problem(p.problemId(), p.task(), p.question(),
                p.answer().equals("A") ? "B" : "A", p.options())).toList();
        List<Problem> none = ps.stream().map(p -> new Problem(p.problemId(), p.task(), p.question(), null, p.options())).toList();
        List<TraceRecord> a = ShardGenerator.run(ckpt, ps, settings);
        for (List<Problem> other : List.of(scrambled, none)) {
            List<TraceRecord> b = ShardGenerator.run(ckpt, other, settings);
            for (int i = 0; i < a.size(); i++) {
                assertArrayEquals(a.get(i).traceTokens(), b.get(i).traceTokens());
                assertEquals(a.get(i).confidence(), b.get(i).confidence());
                assertEquals(a.get(i).answer(), b.get(i).answer());
                assertTrue(Arrays.equals(a.get(i).tokenLogProbs(), b.get(i).tokenLogProbs()));
            }
        }
    }
}
