package org.rlsf.io;

import org.junit.jupiter.api.Test;
import org.rlsf.config.RlsfConfig;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which masters get {@code rlsf.spark.local-defaults}, and what they are. */
class SparkSessionsTest {
    @Test
    void onlyMastersThatRunTheExecutorInTheDriverAreLocal() {
        for (String m : List.of("local", "local[1]", "local[*]", "local[4,2]")) {
            assertTrue(SparkSessions.isLocal(m), m);
        }
        for (String m : List.of("spark://host:7077", "yarn", "k8s://https://host:443", "local-cluster[2,1,1024]")) {
            assertFalse(SparkSessions.isLocal(m), m);
        }
    }

    @Test
    void localDefaultsComeFromTheConfigAndCanBeOverridden() {
        Map<String, String> d = RlsfConfig.load(null, List.of(), Map.of()).spark().localDefaults();
        assertEquals("64m", d.get("spark.task.maxDirectResultSize"));
        assertEquals("false", d.get("spark.broadcast.compress"));
        assertEquals("true", RlsfConfig.load(null, List.of(), Map.of(
                "spark.local-defaults.\"spark.broadcast.compress\"", "true")).spark().localDefaults().get("spark.broadcast.compress"));
    }
}
