package org.rlsf.model.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.TransformerLm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Import → export → import round trips, tied and tuned heads, dtypes, sharding: what from_pretrained would load. */
class HfExportTest {
    @TempDir
    Path tmp;

    private static JsonNode json(Path p) throws Exception {
        return new ObjectMapper().readTree(p.toFile());
    }

    private static Path export(HfModel m, Path source, Path out, String dtype, long shardBytes) throws Exception {
        java.util.Map<String, String> files = new java.util.LinkedHashMap<>();
        for (String f : HfTokenizer.SOURCE_FILES) {
            if (Files.isRegularFile(source.resolve(f))) {
                files.put(f, Files.readString(source.resolve(f)));
            }
        }
        HfExport.write(m.graph(), m.config().model(), files, out, dtype, shardBytes);
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "llama3-bf16", "qwen2-f16", "mistral-sharded", "gpt2", "gpt2-prefixed"})
    void importExportImportGivesIdenticalTensorsAndLogProbs(String name) throws Exception {
        Path source = HfImportTest.fixture(name);
        HfModel m = HfModel.load(source);
        Path out = export(m, source, tmp.resolve(name), "F32", HfExport.DEFAULT_SHARD_BYTES);
        HfModel back = HfModel.load(out);
        assertEquals(Checkpoint.weightsSha256(m.graph().params()), Checkpoint.weightsSha256(back.graph().params()), name);
        JsonNode golden = HfImportTest.golden(name);
        int[] seq = HfImportTest.ints(golden.get("sequences").get(0));
        HfImportTest.assertClose(golden.get("log_probs").get(0), HfImportTest.graphLogProbs(back, seq), name + " re-imported");
        try (SafeTensors st = SafeTensors.open(out.resolve(HfModel.WEIGHTS))) {
            assertEquals(Map.of("format", "pt"), st.metadata());
            boolean tied = json(source.resolve("config.json")).path("tie_word_embeddings").asBoolean(false);
            assertEquals(!tied, st.entries().containsKey("lm_head.weight"), name + ": lm_head written only when untied");
        }
        assertEquals("float32", json(out.resolve("config.json")).get("torch_dtype").asText());
        assertTrue(Files.isRegularFile(out.resolve("generation_config.json")));
    }

    @Test
    void aTunedTiedModelIsWrittenUntiedAndLoadsBackWithTheSameOutputs() throws Exception {
        Path source = HfImportTest.fixture("qwen2-f16");
        HfModel m = HfModel.load(source);
        INDArray head = m.graph().getLayer(TransformerLm.HEAD).getParam("W");
        head.addi(Nd4j.rand(head.dataType(), head.shape()).subi(0.5).muli(0.2));   // a tuned head, no longer the embedding
        m.graph().getLayer(TransformerLm.block(1)).paramTable().values().forEach(p -> p.muli(1.01));
        Path out = export(m, source, tmp.resolve("tuned"), "F32", HfExport.DEFAULT_SHARD_BYTES);
        assertFalse(json(out.resolve("config.json")).get("tie_word_embeddings").asBoolean());
        HfModel back = HfModel.load(out);
        int[] seq = {1, 17, 5, 42, 9, 33};
        float[][] a = HfImportTest.graphLogProbs(m, seq), b = HfImportTest.graphLogProbs(back, seq);
        for (int i = 0; i < seq.length; i++) {
            for (int k = 0; k < a[i].length; k++) {
                assertEquals(a[i][k], b[i][k], 1e-6, "position " + i + ", token " + k);
            }
        }
    }

    @Test
    void halfPrecisionExportsRoundToNearestEvenAndShardAboveTheLimit() throws Exception {
        Path source = HfImportTest.fixture("llama");
        HfModel m = HfModel.load(source);
        Path out = export(m, source, tmp.resolve("bf16"), "BF16", 20_000);
        JsonNode index = json(out.resolve(HfModel.INDEX));
        long shards = java.util.stream.StreamSupport.stream(index.get("weight_map").spliterator(), false)
                .map(JsonNode::asText).distinct().count();
        assertTrue(shards > 1, "a 20 kB limit splits the weights, got " + shards + " file(s)");
        HfModel back = HfModel.load(out);
        INDArray original = m.graph().params(), rounded = back.graph().params();
        for (long i = 0; i < original.length(); i++) {
            float expected = Float.intBitsToFloat(SafeTensors.floatToBf16(original.getFloat(i)) << 16);
            assertEquals(expected, rounded.getFloat(i), 0.0f, "parameter " + i);
        }
        assertEquals("bfloat16", json(out.resolve("config.json")).get("torch_dtype").asText());
    }

    @Test
    void roundingToNearestEvenInBothHalfFormats() {
        // bf16 keeps 7 mantissa bits: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 (even: 1); 1 + 3·2^-8 rounds up
        assertEquals(1.0f, bf16(1.0f + 0x1p-8f));
        assertEquals(1.0f + 0x1p-6f, bf16(1.0f + 3 * 0x1p-8f));
        assertEquals(1.0f + 0x1p-7f, bf16(1.0f + 0x1p-7f + 0x1p-10f));   // below halfway: down
        assertTrue(Float.isNaN(bf16(Float.NaN)));
        // binary16 keeps 10 bits: 1 + 2^-11 ties to 1, 1 + 3·2^-11 to 1 + 2^-9; subnormals, overflow and zero
        assertEquals(1.0f, half(1.0f + 0x1p-11f));
        assertEquals(1.0f + 0x1p-9f, half(1.0f + 3 * 0x1p-11f));
        assertEquals(0x1p-24f, half(0x1p-24f));
        assertEquals(3 * 0x1p-24f, half(3 * 0x1p-24f));
        assertEquals(0.0f, half(0x1p-26f));
        assertEquals(Float.POSITIVE_INFINITY, half(70000f));
        assertEquals(65504f, half(65504f));
        assertEquals(-2.5f, half(-2.5f));
        for (int bits = 0; bits < 0x10000; bits++) {   // every binary16 value survives the round trip
            float f = SafeTensors.halfToFloat((short) bits);
            if (!Float.isNaN(f)) {
                assertEquals(f, half(f), 0.0f, "binary16 " + Integer.toHexString(bits));
            }
        }
    }

    private static float bf16(float f) {
        return Float.intBitsToFloat(SafeTensors.floatToBf16(f) << 16);
    }

    private static float half(float f) {
        return SafeTensors.halfToFloat(SafeTensors.floatToHalf(f));
    }

    @Test
    void exportRefusesADirectoryThatHoldsAModel() throws Exception {
        Path source = HfImportTest.fixture("gpt2");
        HfModel m = HfModel.load(source);
        Path out = export(m, source, tmp.resolve("once"), "F32", HfExport.DEFAULT_SHARD_BYTES);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> export(m, source, out, "F32", HfExport.DEFAULT_SHARD_BYTES));
        assertTrue(e.getMessage().contains("already holds a model"), e.getMessage());
    }
}
