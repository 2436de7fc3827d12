package org.rlsf;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * One shared Spark session per test JVM: two cores, and a failed task is retried once
 * ({@code local[2,2]}), as on a cluster, so fault-injection tests (see FlakyFileSystem) can run.
 */
public final class TestSpark {
    private static SparkSession session;

    private TestSpark() {
    }

    public static synchronized JavaSparkContext context() {
        if (session == null) {
            session = SparkSession.builder().master("local[2,2]").appName("rlsf-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "2")
                    .config("spark.sql.session.timeZone", "UTC")
                    .getOrCreate();
        }
        return JavaSparkContext.fromSparkContext(session.sparkContext());
    }
}
