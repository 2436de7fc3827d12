package org.rlsf.pipeline;

import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.util.LongAccumulator;
import org.rlsf.report.Durations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicInteger;

/** Logs shards done / total, prompts/s, generated tokens/s and the ETA as a decoding job's tasks finish. */
final class ShardProgress extends SparkListener {
    private static final Logger LOG = LoggerFactory.getLogger(ShardProgress.class);
    private final int totalPrompts;
    private final int shards;
    private final int promptsPerShardApprox;
    private final long start = System.nanoTime();
    private final LongAccumulator tokens;
    private final AtomicInteger done = new AtomicInteger();

    ShardProgress(int totalPrompts, int shards, LongAccumulator tokens) {
        this.tokens = tokens;
        this.totalPrompts = totalPrompts;
        this.shards = shards;
        this.promptsPerShardApprox = Math.max(1, totalPrompts / Math.max(1, shards));
    }

    double seconds() {
        return (System.nanoTime() - start) / 1e9;
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
        if (!"ResultTask".equals(end.taskType()) || end.taskInfo().failed()) {
            return;
        }
        int d = done.incrementAndGet();
        if (d > shards) {
            return;
        }
        double secs = seconds();
        int prompts = Math.min(totalPrompts, d * promptsPerShardApprox);
        LOG.info(String.format("  shard %d/%d done: ~%d/%d prompts, %.2f prompts/s, %,.0f generated tokens/s, eta %s",
                d, shards, prompts, totalPrompts, prompts / secs, tokens.value() / secs,
                Durations.format(secs / d * (shards - d))));
    }
}
