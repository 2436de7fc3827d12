package org.rlsf.config;

import com.typesafe.config.Config;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How rlsf starts Spark when nothing else says: Spark's own settings (spark-submit, spark-defaults, -Dspark.*) win.
 *
 * @param defaultMaster used only when spark.master is not set already
 * @param appName       used only when spark.app.name is not set already
 * @param defaults      Spark settings applied only where the Spark configuration lacks them
 * @param localDefaults more of them, applied only when the master is local (driver and executor in one JVM)
 */
public record SparkConfig(String defaultMaster, String appName, Map<String, String> defaults,
                          Map<String, String> localDefaults) implements java.io.Serializable {
    public SparkConfig {
        Require.that(!defaultMaster.isBlank(), "spark.default-master", "a Spark master URL", "\"\"");
        defaults = Map.copyOf(defaults);
        localDefaults = Map.copyOf(localDefaults);
    }

    /** The environment variables that size the native math libraries' thread pools (OpenMP, OpenBLAS, MKL). */
    static final java.util.List<String> THREAD_VARIABLES = java.util.List.of("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
            "MKL_NUM_THREADS");

    /**
     * These settings with {@code compute.threads} reaching the executors too: ND4J there starts its native pools from
     * the executor's environment ({@code spark.executorEnv.OMP_NUM_THREADS} and the like), as defaults a Spark
     * setting of the same variable overrides. 0 (ND4J's default) sets nothing.
     */
    SparkConfig withExecutorThreads(int threads) {
        if (threads <= 0) {
            return this;
        }
        Map<String, String> d = new LinkedHashMap<>(defaults);
        for (String v : THREAD_VARIABLES) {
            d.putIfAbsent("spark.executorEnv." + v, String.valueOf(threads));
        }
        return new SparkConfig(defaultMaster, appName, d, localDefaults);
    }

    /**
     * These settings with the executors' OpenBLAS kernel set ({@code spark.executorEnv.OPENBLAS_CORETYPE}), as a default
     * a Spark setting of the same variable overrides; null sets nothing.
     */
    SparkConfig withExecutorBlasKernels(String coretype) {
        if (coretype == null) {
            return this;
        }
        Map<String, String> d = new LinkedHashMap<>(defaults);
        d.putIfAbsent("spark.executorEnv." + BlasKernels.VARIABLE, coretype);
        return new SparkConfig(defaultMaster, appName, d, localDefaults);
    }

    /**
     * These settings with the executors' OpenBLAS library choice ({@code spark.executorEnv.RLSF_BLAS_LIBRARY}), as a
     * default a Spark setting of the same variable overrides.
     */
    SparkConfig withExecutorBlasLibrary(BlasLibrary library) {
        Map<String, String> d = new LinkedHashMap<>(defaults);
        d.putIfAbsent("spark.executorEnv." + BlasLibrary.VARIABLE, library.configName());
        return new SparkConfig(defaultMaster, appName, d, localDefaults);
    }

    static SparkConfig fromConfig(Config c) {
        return new SparkConfig(c.getString("default-master"), c.getString("app-name"), settings(c, "defaults"),
                settings(c, "local-defaults"));
    }

    /** The Spark settings under {@code path}, their values as strings, in the file's order. */
    private static Map<String, String> settings(Config c, String path) {
        Map<String, String> out = new LinkedHashMap<>();
        c.getConfig(path).root().unwrapped().forEach((k, v) -> out.put(k, String.valueOf(v)));
        return out;
    }
}
