package org.rlsf.io;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The manifests keep the keys readers (the report, notebooks, users' scripts) already use. */
class ManifestsTest {
    private static List<String> keys(Object manifest) throws Exception {
        JsonNode n = Json.MAPPER.readTree(Json.write(manifest));
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void snakeCaseKeysInComponentOrder() throws Exception {
        assertEquals(List.of("table", "schema_version", "run_id", "shard", "prompts", "rows", "error_rows",
                        "zero_confidence_rows", "code_version"),
                keys(Manifests.TracesShard.of(1, "r", 2, 75, 750, 0, 3, "v")));
        assertEquals(List.of("table", "schema_version", "run_id", "traces", "policy", "threshold", "max_pairs_per_prompt",
                        "prompts", "pairs", "prompts_with_pairs", "confidence_gap_histogram", "code_version"),
                keys(Manifests.PairsRun.of(1, "r", "t", "best-vs-worst", 0.9, 0, 300, 290, 290, Map.of("[0.0,0.1)", 3L), "v")));
        assertEquals(List.of("generated_at_micros", "weights_sha256", "shards"), keys(new Manifests.GenerateRun(5, "w", 8)));
    }

    @Test
    void aCorpusManifestFlattensItsProvenance() throws Exception {
        Manifests.Corpus c = Manifests.Corpus.of(1, 600, "train", "generated:arith+mcq", "v", "2026-12-06T00:00:00Z",
                Map.of("seed", 1));
        assertEquals(List.of("table", "schema_version", "rows", "split", "source", "code_version", "created_at", "seed"),
                keys(c));
        assertEquals("corpus", Json.MAPPER.readTree(Json.write(c)).get("table").asText());
    }

    @Test
    void aGenerateRunReadsBack() {
        Manifests.GenerateRun r = new Manifests.GenerateRun(1_700_000_000_000_000L, "abc", 8);
        assertEquals(r, Json.read(Json.write(r), Manifests.GenerateRun.class, "test"));
    }
}
