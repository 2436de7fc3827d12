package org.rlsf.job;

import org.rlsf.config.RlsfConfig;
import org.rlsf.model.NativeThreads;
import picocli.CommandLine.Option;

import java.io.File;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Configuration options every command shares: environment overlay, config files, overrides. */
public final class ConfigOptions {
    @Option(names = "--env", paramLabel = "NAME",
            description = "Environment overlay conf/<NAME>.conf, used when it exists (default: ${DEFAULT-VALUE}).",
            defaultValue = "${env:RLSF_ENV:-local}")
    String env;

    @Option(names = "--conf-dir", paramLabel = "DIR", description = "Where environment overlays live (default: ${DEFAULT-VALUE}).",
            defaultValue = "${env:RLSF_CONF_DIR:-conf}")
    File confDir;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "HOCON file(s) layered on top, in order (e.g. conf/experiments/tiny.conf).")
    List<File> configFiles = new ArrayList<>();

    @Option(names = "--set", paramLabel = "KEY=VALUE", mapFallbackValue = "",
            description = "Override one setting, keys relative to rlsf. (e.g. --set pretrain.epochs=2).")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Option(names = "--main-job-settings",
            description = "Use the main job's stage settings (rlsf.run.overrides) where nothing else sets them, as "
                    + "`rlsf run` does: for running the main job stage by stage (deploy/airflow).")
    boolean mainJobSettings;

    /** Loads and validates the layered configuration, and sets ND4J's native threads (a process-wide setting). */
    public RlsfConfig load() {
        RlsfConfig config = RlsfConfig.load(new File(confDir, env + ".conf"), configFiles, overrides);
        if (mainJobSettings) {
            config = config.withRunOverrides();
        }
        NativeThreads.apply(config.compute().threads());
        return config;
    }
}
