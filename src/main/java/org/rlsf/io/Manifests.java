package org.rlsf.io;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import org.apache.hadoop.fs.Path;

import java.util.Map;

/**
 * The typed records written beside the tables. A table's {@code _MANIFEST.json} is written after its data commits,
 * so its presence means "complete"; {@link RunLayout} knows where each one lives.
 */
public final class Manifests {
    private Manifests() {
    }

    /** A corpus table's manifest; {@code provenance} (generator seed, input file, ...) is written as extra keys. */
    public record Corpus(String table, int schemaVersion, long rows, String split, String source, String codeVersion,
                         String createdAt, Map<String, Object> provenance) {
        public static Corpus of(int schemaVersion, long rows, String split, String source, String codeVersion,
                                String createdAt, Map<String, Object> provenance) {
            return new Corpus("corpus", schemaVersion, rows, split, source, codeVersion, createdAt, Map.copyOf(provenance));
        }

        @Override
        @JsonAnyGetter
        public Map<String, Object> provenance() {
            return provenance;
        }
    }

    /** One committed shard of the traces table, with counts read back from the written data. */
    public record TracesShard(String table, int schemaVersion, String runId, int shard, int prompts, long rows,
                              long errorRows, long zeroConfidenceRows, String codeVersion) {
        public static TracesShard of(int schemaVersion, String runId, int shard, int prompts, long rows, long errorRows,
                                     long zeroConfidenceRows, String codeVersion) {
            return new TracesShard("traces", schemaVersion, runId, shard, prompts, rows, errorRows, zeroConfidenceRows,
                    codeVersion);
        }
    }

    /**
     * A generate run's fixed facts, recorded when it starts ({@code _RUN.json}): a rerun of the id must use the same
     * model and shard count, and reuses the start time so its rows come out identical.
     */
    public record GenerateRun(long generatedAtMicros, String weightsSha256, int shards) {
    }

    /** One run's partition of the pairs table: counts and the histogram of c_chosen − c_rejected. */
    public record PairsRun(String table, int schemaVersion, String runId, String traces, String policy, double threshold,
                           int maxPairsPerPrompt, long prompts, long pairs, long promptsWithPairs,
                           Map<String, Long> confidenceGapHistogram, String codeVersion) {
        public static PairsRun of(int schemaVersion, String runId, String traces, String policy, double threshold,
                                  int maxPairsPerPrompt, long prompts, long pairs, long promptsWithPairs,
                                  Map<String, Long> confidenceGapHistogram, String codeVersion) {
            return new PairsRun("pairs", schemaVersion, runId, traces, policy, threshold, maxPairsPerPrompt, prompts, pairs,
                    promptsWithPairs, confidenceGapHistogram, codeVersion);
        }
    }

    public static void write(FileStore store, Path file, Object manifest) {
        store.writeText(file, Json.write(manifest));
    }
}
