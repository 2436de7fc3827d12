package org.rlsf.job;

import org.rlsf.config.BlasKernels;
import org.rlsf.config.BlasLibrary;
import org.rlsf.config.RlsfConfig;
import org.rlsf.config.NativeChecks;
import org.rlsf.model.NativeThreads;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Option;

import java.io.File;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Configuration options every command shares: environment overlay, config files, overrides. */
public final class ConfigOptions {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigOptions.class);

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

    /**
     * A line when this JVM's OpenBLAS kernels (fixed when it started, by {@code OPENBLAS_CORETYPE}) are not the ones
     * {@code compute.blas-kernels} picks for this CPU: local jobs compute in this JVM.
     */
    static Optional<String> blasKernelsNotice(String setting) {
        String running = System.getenv(BlasKernels.VARIABLE);
        BlasKernels.Cpu cpu = BlasKernels.cpu();
        Optional<String> wanted = BlasKernels.resolve(setting, running, cpu);
        if (wanted.isEmpty() || wanted.get().equalsIgnoreCase(running)) {
            return Optional.empty();
        }
        return Optional.of("rlsf: this JVM's OpenBLAS runs " + (running == null ? "the kernels it detects" : running + " kernels")
                + " (" + BlasKernels.VARIABLE + (running == null ? " unset" : "=" + running) + "); compute.blas-kernels="
                + setting + " picks " + wanted.get() + " for this CPU (" + cpu.model() + "), whose products measured up to 5x "
                + "faster on AMD Zen 4: start the JVM with " + BlasKernels.VARIABLE + "=" + wanted.get()
                + " (jobs/rlsf does) to use them here; executors get them through Spark.");
    }

    /** Loads and validates the layered configuration, and sets ND4J's native threads (a process-wide setting). */
    public RlsfConfig load() {
        RlsfConfig config = RlsfConfig.load(new File(confDir, env + ".conf"), configFiles, overrides);
        if (mainJobSettings) {
            config = config.withRunOverrides();
        }
        config.compute().blasLibrary().apply(NativeChecks.host());   // before ND4J loads OpenBLAS
        NativeChecks.require();
        blasKernelsNotice(config.compute().blasKernels()).ifPresent(System.err::println);
        NativeThreads.apply(config.compute().threads());
        if (LOG.isDebugEnabled()) {   // loaded() reads this process's memory map
            LOG.debug("OpenBLAS: {} (compute.blas-library = {})", BlasLibrary.loaded(), config.compute().blasLibrary().configName());
        }
        return config;
    }
}
