package org.rlsf.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigValueFactory;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The resolved application configuration: {@code reference.conf} from the jar, then the environment
 * overlay {@code <confDir>/<env>.conf} when it exists, then each {@code --config} file in order, then
 * {@code --set key=value} overrides (keys relative to {@code rlsf.}). Immutable.
 *
 * <p>Every section is parsed into its record when the configuration is built, so an unknown key, a value of the
 * wrong type or out of range fails here, naming the key, before any stage starts. Stages read the records, never
 * the HOCON tree.
 */
public final class RlsfConfig {
    private final Config root;
    private final SparkConfig spark;
    private final ComputeConfig compute;
    private final TokenizerConfig tokenizer;
    private final PretrainConfig pretrain;
    private final GenerateConfig generate;
    private final PairsConfig pairs;
    private final TrainConfig train;
    private final RewardConfig reward;
    private final PpoConfig ppo;
    private final EvaluateConfig evaluate;
    private final SampleConfig sample;
    private final BenchConfig bench;
    private final RunConfig run;

    private RlsfConfig(Config root) {
        this.root = root;
        Config c = root.getConfig("rlsf");
        try {
            this.compute = ComputeConfig.fromConfig(c.getConfig("compute"));
            this.spark = SparkConfig.fromConfig(c.getConfig("spark")).withExecutorThreads(compute.threads())
                    .withExecutorBlasKernels(BlasKernels.resolve(compute.blasKernels(), System.getenv(BlasKernels.VARIABLE),
                            BlasKernels.cpu()).orElse(null))
                    .withExecutorBlasLibrary(compute.blasLibrary());
            ModelConfig.fromConfig(c.getConfig("model"), 4);   // the vocabulary comes from a tokenizer; the rest is checked now
            this.tokenizer = TokenizerConfig.fromConfig(c.getConfig("tokenizer"));
            this.pretrain = PretrainConfig.fromConfig(c.getConfig("pretrain"));
            this.generate = GenerateConfig.fromConfig(c.getConfig("generate"));
            this.pairs = PairsConfig.fromConfig(c.getConfig("pairs"));
            this.train = TrainConfig.fromConfig(c.getConfig("train"));
            this.reward = RewardConfig.fromConfig(c.getConfig("reward"));
            this.ppo = PpoConfig.fromConfig(c.getConfig("ppo"));
            this.evaluate = EvaluateConfig.fromConfig(c.getConfig("evaluate"));
            this.sample = SampleConfig.fromConfig(c.getConfig("sample"));
            this.bench = BenchConfig.fromConfig(c.getConfig("bench.model"));
            this.run = RunConfig.fromConfig(c.getConfig("run"));
        } catch (ConfigException e) {   // a value of the wrong type: HOCON's message names the key and where it was set
            throw new IllegalArgumentException("bad configuration value: " + e.getMessage(), e);
        }
    }

    /** Layers the sources as described above; a missing explicit --config file is an error. */
    public static RlsfConfig load(File envOverlay, List<File> configFiles, Map<String, String> overrides) {
        Config merged = ConfigFactory.empty();
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            String key = e.getKey().startsWith("rlsf.") ? e.getKey() : "rlsf." + e.getKey();
            merged = merged.withFallback(ConfigFactory.parseString(key + " = " + quoteIfNeeded(e.getValue()),
                    ConfigParseOptions.defaults().setOriginDescription("--set " + e.getKey())));
        }
        for (int i = configFiles.size() - 1; i >= 0; i--) {
            File f = configFiles.get(i);
            if (!f.isFile()) {
                throw new IllegalArgumentException("config file not found: " + f);
            }
            merged = merged.withFallback(ConfigFactory.parseFile(f, ConfigParseOptions.defaults().setAllowMissing(false)));
        }
        if (envOverlay != null && envOverlay.isFile()) {
            merged = merged.withFallback(ConfigFactory.parseFile(envOverlay));
        }
        Config reference = ConfigFactory.parseResources(RlsfConfig.class.getClassLoader(), "reference.conf");
        Config resolved = merged.withFallback(reference).resolve(ConfigResolveOptions.defaults().setAllowUnresolved(false));
        validateKnownKeys(resolved, reference);
        return new RlsfConfig(resolved);
    }

    static final String RUN_OVERRIDES = "rlsf.run.overrides";

    /**
     * The main job's view: every {@code run.overrides} setting replaces the stage setting of the same
     * name unless that setting was set explicitly (anything other than reference.conf), so a user's
     * overlay, --config file or --set always wins.
     */
    public RlsfConfig withRunOverrides() {
        if (!root.hasPath(RUN_OVERRIDES)) {
            return this;
        }
        Config out = root;
        for (Map.Entry<String, com.typesafe.config.ConfigValue> e : root.getConfig(RUN_OVERRIDES).entrySet()) {
            String target = "rlsf." + e.getKey();
            if (!root.hasPath(target) || isReferenceDefault(root.getValue(target))) {
                out = out.withValue(target, e.getValue());
            }
        }
        return new RlsfConfig(out);
    }

    private static boolean isReferenceDefault(com.typesafe.config.ConfigValue v) {
        String d = v.origin().description();
        return d != null && d.contains("reference.conf");
    }

    /** Defaults only (tests, library use). */
    public static RlsfConfig defaults() {
        return load(null, List.of(), Map.of());
    }

    /** A typo in an override or overlay should fail loudly, not be ignored. */
    private static void validateKnownKeys(Config resolved, Config reference) {
        for (Map.Entry<String, ?> e : resolved.getConfig("rlsf").entrySet()) {
            String path = "rlsf." + e.getKey();
            if (path.startsWith("rlsf.spark.defaults.")) {
                continue; // free-form Spark settings
            }
            if (path.startsWith(RUN_OVERRIDES + ".")) {
                String target = "rlsf." + path.substring(RUN_OVERRIDES.length() + 1);
                if (!reference.hasPathOrNull(target)) {
                    throw new IllegalArgumentException("unknown configuration key '" + path + "': " + target
                            + " is not a setting (see reference.conf)");
                }
                continue;
            }
            if (!reference.hasPathOrNull(path)) {
                throw new IllegalArgumentException("unknown configuration key '" + path + "' (from "
                        + resolved.origin().description() + "); see reference.conf for the known keys");
            }
        }
    }

    /** Values are HOCON when they parse as such (numbers, lists, quoted strings), else plain strings. */
    private static String quoteIfNeeded(String value) {
        String v = value.trim();
        try {
            ConfigFactory.parseString("k = " + v);
            return v;
        } catch (ConfigException e) {
            return ConfigValueFactory.fromAnyRef(value).render();
        }
    }

    /** The HOCON tree under {@code rlsf} (rendering, hashing, tests); stages read the section records instead. */
    public Config raw() {
        return root.getConfig("rlsf");
    }

    /** The model shapes for a tokenizer of {@code vocabSize} tokens. */
    public ModelConfig model(int vocabSize) {
        return ModelConfig.fromConfig(raw().getConfig("model"), vocabSize);
    }

    public SparkConfig spark() {
        return spark;
    }

    public ComputeConfig compute() {
        return compute;
    }

    public TokenizerConfig tokenizer() {
        return tokenizer;
    }

    public PretrainConfig pretrain() {
        return pretrain;
    }

    public GenerateConfig generate() {
        return generate;
    }

    public PairsConfig pairs() {
        return pairs;
    }

    public TrainConfig train() {
        return train;
    }

    public RewardConfig reward() {
        return reward;
    }

    public PpoConfig ppo() {
        return ppo;
    }

    public EvaluateConfig evaluate() {
        return evaluate;
    }

    public SampleConfig sample() {
        return sample;
    }

    public BenchConfig bench() {
        return bench;
    }

    public RunConfig run() {
        return run;
    }

    /** The resolved configuration as HOCON text (what is written next to every command's outputs). */
    public String render() {
        return root.getConfig("rlsf").atKey("rlsf").root()
                .render(ConfigRenderOptions.defaults().setOriginComments(false).setJson(false));
    }

    /** SHA-256 of the rendered configuration, hex; identifies a configuration in lineage records. */
    public String hash() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            String canonical = root.getConfig("rlsf").root().render(ConfigRenderOptions.concise());
            return HexFormat.of().formatHex(md.digest(canonical.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

}
