package org.rlsf;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/** One shared local[2] Spark session per test JVM. */
public final class TestSpark {
    private static SparkSession session;

    private TestSpark() {
    }

    public static synchronized JavaSparkContext context() {
        if (session == null) {
            session = SparkSession.builder().master("local[2]").appName("rlsf-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "2")
                    .config("spark.sql.session.timeZone", "UTC")
                    .getOrCreate();
        }
        return JavaSparkContext.fromSparkContext(session.sparkContext());
    }
}
