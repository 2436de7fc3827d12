package org.rlsf.io;

import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;
import org.rlsf.config.BlasLibrary;
import org.rlsf.config.NativeChecks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;

/**
 * A Spark plugin ({@code spark.plugins}, added by {@link SparkSessions}) whose executor side checks the executor's
 * native math when the executor starts: an executor on a CPU that cannot run the OpenBLAS kernels it was given fails
 * there, with the host and the missing instructions in its log, instead of dying of an illegal instruction inside a
 * task. It first chooses the executor's OpenBLAS library ({@link BlasLibrary}, from {@code spark.executorEnv}), before
 * anything loads ND4J.
 */
public final class ExecutorChecks implements SparkPlugin {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorChecks.class);

    @Override
    public DriverPlugin driverPlugin() {
        return null;
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return new ExecutorPlugin() {
            @Override
            public void init(PluginContext ctx, Map<String, String> extraConf) {
                try {
                    String library = System.getenv(BlasLibrary.VARIABLE);   // before this JVM's ND4J loads OpenBLAS
                    if (library != null) {
                        BlasLibrary.parse(library).apply(NativeChecks.host());
                    }
                    NativeChecks.require();
                } catch (IllegalStateException e) {
                    LOG.error("executor {}: {}", ctx.executorID(), e.getMessage());
                    throw e;
                }
            }
        };
    }
}
