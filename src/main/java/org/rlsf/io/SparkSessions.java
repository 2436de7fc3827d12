package org.rlsf.io;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.rlsf.config.SparkConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Supplier;

/**
 * Starts (or joins) the Spark session. Spark settings belong to Spark: whatever spark-submit,
 * spark-defaults or {@code -Dspark.*} set wins; {@code rlsf.spark.default-master} (local[*]) is used
 * only when no master is set, and {@code rlsf.spark.defaults} only fill gaps ({@code rlsf.spark.local-defaults} too,
 * on a local master).
 */
public final class SparkSessions {
    private static final Logger LOG = LoggerFactory.getLogger(SparkSessions.class);
    static final String PHYSICAL_BYTES = "org.bytedeco.javacpp.maxphysicalbytes";

    private SparkSessions() {
    }

    public static SparkSession getOrCreate(SparkConfig settings) {
        SparkConf conf = new SparkConf();
        if (!conf.contains("spark.master")) {
            conf.setMaster(settings.defaultMaster());
        }
        if (!conf.contains("spark.app.name")) {
            conf.setAppName(settings.appName());
        }
        settings.defaults().forEach(conf::setIfMissing);
        if (isLocal(conf.get("spark.master"))) {
            settings.localDefaults().forEach(conf::setIfMissing);
        }
        // executors load ND4J's natives themselves: the same build as the driver (a -Ponednn jar needs the extension)
        String nativeOption = org.rlsf.config.NativeVariant.executorJavaOption();
        String executorOpts = conf.get("spark.executor.extraJavaOptions", "");
        if (!nativeOption.isEmpty() && !executorOpts.contains(org.rlsf.config.NativeVariant.PROPERTY)) {
            executorOpts = (executorOpts + " " + nativeOption).trim();
        }
        // JavaCPP's physical-memory check reads the process's RSS under a global lock for every native pointer ND4J
        // creates (several per op): off unless the user set it; javacpp.maxbytes still bounds ND4J's off-heap memory
        if (!executorOpts.contains(PHYSICAL_BYTES)) {
            executorOpts = (executorOpts + " -D" + PHYSICAL_BYTES + "=0").trim();
        }
        conf.set("spark.executor.extraJavaOptions", executorOpts);
        // executors check their CPU runs the OpenBLAS kernels they were given when they start (ExecutorChecks)
        String plugins = conf.get("spark.plugins", "");
        if (!plugins.contains(ExecutorChecks.class.getName())) {
            conf.set("spark.plugins", plugins.isBlank() ? ExecutorChecks.class.getName()
                    : plugins + "," + ExecutorChecks.class.getName());
        }
        SparkSession session = SparkSession.builder().config(conf).getOrCreate();
        return session;
    }

    /** A master that runs the executor inside the driver's JVM: local, local[N], local[*], local[N,F]. */
    static boolean isLocal(String master) {
        return master.equals("local") || master.startsWith("local[");
    }

    /** Starts Spark on first use and logs where it runs. */
    public static Supplier<SparkSession> lazy(SparkConfig settings) {
        return new Supplier<>() {
            private SparkSession session;

            @Override
            public synchronized SparkSession get() {
                if (session == null) {
                    session = getOrCreate(settings);
                    LOG.info("Spark master {} ({} default parallelism)", session.sparkContext().master(),
                            session.sparkContext().defaultParallelism());
                }
                return session;
            }
        };
    }

    public static JavaSparkContext javaContext(SparkSession session) {
        return JavaSparkContext.fromSparkContext(session.sparkContext());
    }
}
