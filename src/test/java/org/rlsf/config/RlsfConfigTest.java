package org.rlsf.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RlsfConfigTest {
    @Test
    void layersReferenceThenEnvironmentThenFilesThenOverrides(@TempDir File dir) throws Exception {
        File env = new File(dir, "local.conf");
        Files.writeString(env.toPath(), "rlsf.model.d-model = 64\nrlsf.model.n-layers = 3\nrlsf.pretrain.epochs = 9");
        File exp = new File(dir, "exp.conf");
        Files.writeString(exp.toPath(), "rlsf.model.n-layers = 2\nrlsf.pretrain.epochs = 5");
        RlsfConfig c = RlsfConfig.load(env, List.of(exp), Map.of("pretrain.epochs", "7"));
        ModelConfig m = c.model(100);
        assertEquals(64, m.dModel());          // environment overlay
        assertEquals(2, m.nLayers());          // experiment file beats environment
        assertEquals(7, c.pretrain().epochs()); // --set beats both
        assertEquals(4, m.nHeads());           // reference.conf default
        assertEquals(100, m.vocabSize());
    }

    @Test
    void aMissingEnvironmentOverlayIsFineButAMissingConfigFileIsNot(@TempDir File dir) {
        RlsfConfig.load(new File(dir, "absent.conf"), List.of(), Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RlsfConfig.load(null, List.of(new File(dir, "nope.conf")), Map.of()));
        assertTrue(e.getMessage().contains("nope.conf"), e.getMessage());
    }

    @Test
    void computeThreadsReachTheExecutorsUnlessSparkSettingsSayOtherwise() {
        Map<String, String> d = RlsfConfig.load(null, List.of(), Map.of()).spark().defaults();
        assertEquals("1", d.get("spark.executorEnv.OMP_NUM_THREADS"));
        assertEquals("1", d.get("spark.executorEnv.OPENBLAS_NUM_THREADS"));
        assertEquals("1", d.get("spark.executorEnv.MKL_NUM_THREADS"));
        assertEquals(null, RlsfConfig.load(null, List.of(), Map.of("compute.threads", "0")).spark().defaults()
                .get("spark.executorEnv.OMP_NUM_THREADS"), "0 keeps ND4J's default");
        assertEquals("4", RlsfConfig.load(null, List.of(), Map.of("compute.threads", "2",
                "spark.defaults.\"spark.executorEnv.OMP_NUM_THREADS\"", "4")).spark().defaults()
                .get("spark.executorEnv.OMP_NUM_THREADS"), "a Spark setting wins");
    }

    @Test
    void unknownKeysAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RlsfConfig.load(null, List.of(), Map.of("pretrain.epochz", "3")));
        assertTrue(e.getMessage().contains("rlsf.pretrain.epochz"), e.getMessage());
    }

    @Test
    void invalidValuesFailWithTheKeyName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RlsfConfig.load(null, List.of(), Map.of("model.n-heads", "3")));
        assertEquals("rlsf.model.n-heads must be > 0 and divide d-model (128), was 3", e.getMessage());
    }

    @Test
    void renderedConfigReloadsToTheSameHash(@TempDir File dir) throws Exception {
        RlsfConfig c = RlsfConfig.load(null, List.of(), Map.of("run.runs-dir", "hdfs://nn/runs", "spark.default-master", "local[2]"));
        File f = new File(dir, "resolved.conf");
        Files.writeString(f.toPath(), c.render());
        RlsfConfig back = RlsfConfig.load(null, List.of(f), Map.of());
        assertEquals(c.hash(), back.hash());
        assertEquals("local[2]", back.raw().getString("spark.default-master"));
        assertNotEquals(c.hash(), RlsfConfig.defaults().hash());
    }

    private static String loadError(String key, String value) {
        return assertThrows(IllegalArgumentException.class, () -> RlsfConfig.load(null, List.of(), Map.of(key, value)),
                key + "=" + value + " should be refused when the configuration loads").getMessage();
    }

    @Test
    void badStageSettingsFailWhenTheConfigurationLoadsNamingTheKeyAndTheRange() {
        // each of these used to surface only inside its stage (generate.shards=0 as a division by zero)
        assertEquals("rlsf.generate.shards must be >= 1, was 0", loadError("generate.shards", "0"));
        assertEquals("rlsf.train.beta must be > 0, was 0.0", loadError("train.beta", "0"));
        assertEquals("rlsf.pairs.threshold must be in [-1, 1] (a margin confidence), was 1.5", loadError("pairs.threshold", "1.5"));
        assertEquals("rlsf.evaluate.k must be >= 1, was 0", loadError("evaluate.k", "0"));
        assertEquals("rlsf.generate.first-token-floor must be in [0, 1), was 1.0", loadError("generate.first-token-floor", "1"));
        assertEquals("rlsf.run.prompts must be >= 1, was -3", loadError("run.prompts", "-3"));
        assertEquals("rlsf.compute.threads must be >= 0, was -1", loadError("compute.threads", "-1"));
        assertEquals("rlsf.bench.model.gen-batches must be a non-empty list of sizes >= 1, was [0]",
                loadError("bench.model.gen-batches", "[0]"));
        assertTrue(loadError("model.n-heads", "3").contains("n-heads"), "model shapes are checked at load too");
        assertEquals("rlsf.train.lora.rank must be in [0, 4096] (0 = full fine-tuning), was -1", loadError("train.lora.rank", "-1"));
        assertTrue(loadError("train.lora.dropout", "0.1").startsWith("rlsf.train.lora.dropout must be 0"));
        String modules = loadError("train.lora.target-modules", "[qproj]");
        assertTrue(modules.startsWith("rlsf.train.lora.target-modules must be Hugging Face module names")
                && modules.contains("q_proj") && modules.endsWith("was qproj"), modules);
    }

    @Test
    void modesAreEnumsAndAnUnknownModeListsTheAllowedOnes() {
        assertEquals("rlsf.compute.kernels must be one of eager | samediff, was \"fast\"", loadError("compute.kernels", "fast"));
        assertEquals("rlsf.compute.decoding must be one of auto | heap | nd4j, was \"java\"", loadError("compute.decoding", "java"));
        assertEquals("rlsf.generate.span-method must be one of elicitation | trace, was \"last\"",
                loadError("generate.span-method", "last"));
        assertEquals("rlsf.evaluate.decoding must be one of greedy | cot-decoding, was \"beam\"", loadError("evaluate.decoding", "beam"));
        assertEquals("rlsf.train.loss must be one of dpo | ipo, was \"kto\"", loadError("train.loss", "kto"));
        assertEquals("rlsf.train.select must be one of last | best-heldout-loss, was \"first\"", loadError("train.select", "first"));
        assertTrue(loadError("pairs.policy", "random").startsWith("rlsf.pairs.policy must be one of"));
        assertEquals("rlsf.model.architecture must be one of rlsf | gpt2 | llama, was \"mamba\"", loadError("model.architecture", "mamba"));
        ModelConfig llama = RlsfConfig.load(null, List.of(), Map.of("model.architecture", "llama", "model.kv-heads", "2",
                "model.rope-theta", "500000")).model(100);
        assertEquals(org.rlsf.config.Architecture.llama(2, 500000, null, false, false, false), llama.arch());
        assertEquals(2, llama.kvHeads());
        String kv = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> RlsfConfig.load(null,
                List.of(), Map.of("model.architecture", "llama", "model.kv-heads", "3"))).getMessage();
        assertTrue(kv.contains("kv-heads must divide n-heads"), kv);

        RlsfConfig c = RlsfConfig.load(null, List.of(), Map.of("compute.kernels", "samediff", "compute.decoding", "nd4j",
                "generate.span-method", "trace", "evaluate.decoding", "cot-decoding", "train.loss", "ipo",
                "pairs.policy", "best-vs-worst"));
        assertEquals(ComputeConfig.Kernels.SAMEDIFF, c.compute().kernels());
        assertTrue(c.compute().sameDiffKernels());
        assertEquals(ComputeConfig.DecodingSteps.ND4J, c.compute().decoding());
        assertEquals(GenerateConfig.SpanMethod.TRACE, c.generate().spanMethod());
        assertEquals(EvaluateConfig.Decoding.COT_DECODING, c.evaluate().decoding());
        assertEquals(10, c.evaluate().branches(EvaluateConfig.Decoding.COT_DECODING));
        assertEquals(1, c.evaluate().branches(EvaluateConfig.Decoding.GREEDY));
        assertEquals(TrainConfig.Loss.IPO, c.train().loss());
        assertEquals(PairPolicy.BEST_VS_WORST, c.pairs().policy());
    }

    @Test
    void aValueOfTheWrongTypeNamesTheKey() {
        String e = loadError("generate.k", "ten");
        assertTrue(e.contains("generate.k") && e.contains("NUMBER"), e);
    }

    @Test
    void theMainJobOverridesAreValidatedToo() {
        RlsfConfig c = RlsfConfig.defaults().withRunOverrides();
        assertEquals(GenerateConfig.SpanMethod.TRACE, c.generate().spanMethod());
        assertEquals(PairPolicy.BEST_VS_WORST, c.pairs().policy());
        assertEquals(8, c.train().averagingFrequency());
        assertEquals(GenerateConfig.SpanMethod.ELICITATION, RlsfConfig.defaults().generate().spanMethod(), "the stage default");
    }

    @Test
    void sparkSettingsAreRead() {
        RlsfConfig c = RlsfConfig.load(null, List.of(), Map.of("spark.default-master", "local[3]"));
        assertEquals("local[3]", c.spark().defaultMaster());
        assertEquals("UTC", c.spark().defaults().get("spark.sql.session.timeZone"));
    }
}
