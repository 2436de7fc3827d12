package org.rlsf.io;

import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class RunLayoutTest {
    @Test
    void theRunDirectoryIsWhereTheReadmeSaysItIs() {
        RunLayout l = RunLayout.of("runs", "v1");
        assertEquals(new Path("runs/v1/config.conf"), l.config());
        assertEquals(new Path("runs/v1/corpus/prompts"), l.prompts());
        assertEquals(new Path("runs/v1/corpus/heldout"), l.heldout());
        assertEquals(new Path("runs/v1/corpus/arith-train"), l.pretrainCorpus("arith"));
        assertEquals(new Path("runs/v1/checkpoints/base"), l.base());
        assertEquals(new Path("runs/v1/checkpoints/rlsf"), l.tuned());
        assertEquals(new Path("runs/v1/checkpoints/rlsf/checkpoint"), RunLayout.policy(l.tuned()));
        assertEquals(new Path("runs/v1/traces"), l.traces());
        assertEquals(new Path("runs/v1/pairs"), l.pairs());
        assertEquals(new Path("runs/v1/eval/rlsf-greedy"), l.eval("rlsf-greedy"));
        assertEquals(new Path("runs/v1/report"), l.report());
        assertEquals(new Path("runs/v1/stages.json"), l.stages());
        assertEquals("v1", RunLayout.at(new Path("/x/runs/v1")).runId());
    }

    @Test
    void partitionsAndMarkers() {
        Path t = new Path("/data/traces");
        assertEquals(new Path("/data/traces/run_id=a/shard=3"), RunLayout.shardPartition(t, "a", 3));
        assertEquals(new Path("/data/traces/run_id=a/_MANIFEST.json"), RunLayout.manifest(RunLayout.runPartition(t, "a")));
        assertEquals(new Path("/data/traces/run_id=a/_RUN.json"), RunLayout.generateRun(t, "a"));
        assertEquals("a", RunLayout.runIdOf(RunLayout.runPartition(t, "a")));
        assertNull(RunLayout.runIdOf(new Path("/data/traces/_logs")));
        assertEquals(new Path("/e/summary.json"), RunLayout.evalSummary(new Path("/e")));
    }
}
