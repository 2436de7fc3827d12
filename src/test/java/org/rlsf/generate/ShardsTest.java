package org.rlsf.generate;

import org.junit.jupiter.api.Test;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.tasks.Problem;
import org.rlsf.tasks.TaskFamily;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardsTest {
    @Test
    void aPromptsShardDependsOnItsIdAlone() {
        // CRC32 of the UTF-8 id: a change of hash would put a resumed run's prompts in other shards
        assertEquals(Shards.of("arith-1", 8), Shards.of("arith-1", 8));
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update("arith-1".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals((int) (crc.getValue() % 8), Shards.of("arith-1", 8));
        assertThrows(IllegalArgumentException.class, () -> Shards.of("x", 0));
    }

    @Test
    void splitKeepsEveryPromptOnceInShardOrderAndInputOrder() {
        List<Problem> problems = TaskCorpus.generate(TaskFamily.of("arith"), 40, 3, TaskCorpus.TRAIN);
        List<Shards.Shard> shards = Shards.split(problems, 5);
        List<Problem> seen = new ArrayList<>();
        int last = -1;
        for (Shards.Shard s : shards) {
            assertTrue(s.shard() > last && s.shard() < 5 && !s.problems().isEmpty());
            last = s.shard();
            for (Problem p : s.problems()) {
                assertEquals(s.shard(), Shards.of(p.problemId(), 5));
            }
            seen.addAll(s.problems());
        }
        assertEquals(problems.size(), seen.size());
        assertTrue(seen.containsAll(problems));
        for (Shards.Shard s : shards) {   // input order within a shard
            List<Problem> expected = problems.stream().filter(p -> Shards.of(p.problemId(), 5) == s.shard()).toList();
            assertEquals(expected, s.problems());
        }
    }
}
