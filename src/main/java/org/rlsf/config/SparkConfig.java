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
 */
public record SparkConfig(String defaultMaster, String appName, Map<String, String> defaults) implements java.io.Serializable {
    public SparkConfig {
        Require.that(!defaultMaster.isBlank(), "spark.default-master", "a Spark master URL", "\"\"");
        defaults = Map.copyOf(defaults);
    }

    static SparkConfig fromConfig(Config c) {
        Map<String, String> defaults = new LinkedHashMap<>();
        c.getConfig("defaults").root().unwrapped().forEach((k, v) -> defaults.put(k, String.valueOf(v)));
        return new SparkConfig(c.getString("default-master"), c.getString("app-name"), defaults);
    }
}
