package org.rlsf.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.rlsf.TestSpark;

import java.io.File;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The smoke pipeline ({@code rlsf run -c conf/experiments/smoke.conf}) submitted with {@code SparkSubmit} and the
 * shaded cluster jar to a real standalone cluster (a master and two 1-core workers on loopback), compared with
 * the same jar on {@code local[2]}; then a worker is killed during generate and during train. Runs in
 * {@code mvn verify} (failsafe), after the cluster jar is packaged; {@code -DskipITs} skips it.
 */
@Tag("cluster")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterIT {
    static final String RUN_ID = "it";
    static final Duration RUN_TIMEOUT = Duration.ofMinutes(6);

    /** Logs and runs stay in target/cluster-it for a look after a failure. */
    static File tmp = new File("target/cluster-it").getAbsoluteFile();
    static StandaloneCluster cluster;
    static File runs;

    @BeforeAll
    static void startCluster() throws Exception {
        org.apache.commons.io.FileUtils.deleteDirectory(tmp);
        runs = new File(tmp, "runs");
        cluster = new StandaloneCluster(new File(tmp, "cluster"), 2);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /**
     * The smoke run's command line. OpenBLAS kernels: "inherit", so the cluster's executors compute with the kernels
     * the local[2] driver (started from this JVM's environment, not through jobs/rlsf) computes with; with "auto" they
     * would get the CPU's best set while that driver keeps the environment's, and float rounding would differ.
     */
    private static List<String> runArgs(String out) {
        return List.of("run", "-c", new File("conf/experiments/smoke.conf").getAbsolutePath(), "--run-id", RUN_ID,
                "--out", new File(runs, out).getAbsolutePath(), "--set", "compute.blas-kernels=inherit");
    }

    private static File run(String out) {
        return new File(new File(runs, out), RUN_ID);
    }

    private static String log(StandaloneCluster.Submission s) {
        try {
            String text = s.logText();
            return text.substring(Math.max(0, text.length() - 4000));
        } catch (Exception e) {
            return "(no log: " + e + ")";
        }
    }

    @Test
    @Order(1)
    void theSmokeRunOnTheClusterWritesWhatTheLocalRunWrites() throws Exception {
        StandaloneCluster.Submission onCluster = cluster.submit(cluster.masterUrl(), new File(tmp, "cluster-run.log"),
                runArgs("cluster"));
        assertEquals(0, onCluster.await(RUN_TIMEOUT), () -> "cluster run failed:\n" + log(onCluster));
        assertTrue(onCluster.logText().contains("(Spark master " + cluster.masterUrl() + ")"),
                "the run really used the standalone master");

        StandaloneCluster.Submission local = cluster.submit("local[2]", new File(tmp, "local-run.log"), runArgs("local"));
        assertEquals(0, local.await(RUN_TIMEOUT), () -> "local run failed:\n" + log(local));

        for (String p : new String[]{"config.conf", "corpus/prompts/_MANIFEST.json", "corpus/heldout/_MANIFEST.json",
                "checkpoints/base/checkpoint.json", "traces/run_id=" + RUN_ID + "/_RUN.json",
                "pairs/run_id=" + RUN_ID + "/_MANIFEST.json", "checkpoints/rlsf/checkpoint/checkpoint.json",
                "checkpoints/rlsf/metrics.jsonl", "report/report.md", "report/report.html", "report/results.csv",
                "report/results.json", "report/dpo-loss.png", "report/reliability-rlsf-greedy-all.png"}) {
            assertTrue(new File(run("cluster"), p).isFile(), "cluster run lacks " + p);
            assertTrue(new File(run("local"), p).isFile(), "local run lacks " + p);
        }
        sameTraces(run("local"), run("cluster"));
        samePairs(run("local"), run("cluster"));
        assertEquals(weights(run("local")), weights(run("cluster")), "DPO on two executors == DPO on local[2]");
        // executors were started on both workers: each worker's work dir holds the app's executor directory
        for (int i = 0; i < 2; i++) {
            String[] apps = new File(cluster.dir, "work-" + i).list();
            assertTrue(apps != null && apps.length > 0, "worker " + i + " ran no executor");
        }
    }

    @Test
    @Order(2)
    void losingAWorkerDuringGenerateLosesAndDuplicatesNothing() throws Exception {
        faultRun("fault-generate", "GenerateStage: generate run", "GenerateStage: wrote ");
        sameTraces(run("cluster"), run("fault-generate"));
        samePairs(run("cluster"), run("fault-generate"));
        assertEquals(weights(run("cluster")), weights(run("fault-generate")));
    }

    @Test
    @Order(3)
    void losingAWorkerDuringTrainFinishesOrResumes() throws Exception {
        faultRun("fault-train", "PairTrainer: DPO held-out at start", "PairTraining: final DPO checkpoint");
        sameTraces(run("cluster"), run("fault-train"));
        samePairs(run("cluster"), run("fault-train"));
        // a lost averaging round is recomputed from the same broadcast parameters and minibatches
        assertEquals(weights(run("cluster")), weights(run("fault-train")), "the same weights as the clean run");
        // the trained model is complete: every epoch of the run saved, a final checkpoint with lineage
        File rlsf = new File(run("fault-train"), "checkpoints/rlsf");
        assertTrue(new File(rlsf, "epochs/epoch-1/checkpoint/checkpoint.json").isFile());
        assertTrue(new File(rlsf, "checkpoint/lineage.json").isFile());
        List<String> rounds = Files.readAllLines(new File(rlsf, "metrics.jsonl").toPath()).stream()
                .filter(l -> l.contains("\"kind\":\"round\"")).toList();
        List<String> clean = Files.readAllLines(new File(run("cluster"), "checkpoints/rlsf/metrics.jsonl").toPath())
                .stream().filter(l -> l.contains("\"kind\":\"round\"")).toList();
        assertEquals(clean.size(), rounds.size(), "as many averaging rounds as the clean run");
    }

    /**
     * Submits the smoke run and, once the log shows {@code started} and then a task starting on worker 1's
     * executor, kills worker 1 with that executor a second later, requiring that the stage had not finished by
     * then. The run must then either succeed, or fail with a non-zero exit and succeed when rerun with the same
     * run id on the repaired cluster (resume).
     */
    private void faultRun(String out, String started, String finished) throws Exception {
        StandaloneCluster.Submission s = cluster.submit(cluster.masterUrl(), new File(tmp, out + ".log"), runArgs(out));
        assertTrue(s.awaitLog(l -> l.contains(started), RUN_TIMEOUT), () -> "never reached '" + started + "':\n" + log(s));
        String executor = cluster.executorOn(1);
        java.util.regex.Pattern taskOnVictim = java.util.regex.Pattern.compile(
                "Starting task \\S+ in stage \\S+ \\(TID \\d+\\) \\(127\\.0\\.0\\.1, executor " + executor + ",");
        assertTrue(s.awaitText(text -> taskOnVictim.matcher(text.substring(text.indexOf(started))).find(), RUN_TIMEOUT),
                () -> "no task started on worker 1's executor " + executor + " after '" + started + "':\n" + log(s));
        Thread.sleep(1000);
        assertFalse(s.logText().contains(finished), "the worker must be lost while the stage runs");
        cluster.killWorker(1);
        int rc = s.await(RUN_TIMEOUT);
        cluster.restartWorker(1);
        String first = s.logText();
        assertTrue(first.contains("Lost executor"), "the driver lost the killed worker's executor");
        if (rc == 0) {
            assertTrue(java.util.regex.Pattern.compile("Starting task \\d+\\.[1-9]").matcher(first).find(),
                    "a task of the lost executor ran again");
        }
        System.out.printf("%s: worker 1 killed after '%s'; the run %s%n", out, started,
                rc == 0 ? "completed" : "failed (exit " + rc + ") and is rerun with the same run id");
        if (rc != 0) {
            String failure = log(s);
            StandaloneCluster.Submission rerun = cluster.submit(cluster.masterUrl(), new File(tmp, out + "-rerun.log"),
                    runArgs(out));
            assertEquals(0, rerun.await(RUN_TIMEOUT),
                    () -> "the rerun after a failed run did not complete:\nfirst run:\n" + failure + "\nrerun:\n" + log(rerun));
        }
        assertTrue(new File(run(out), "report/results.json").isFile(), out + ": the run completed");
    }

    private static SparkSession spark() {
        return SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate();
    }

    /** Every trace row equal, but for when it was generated and the local path of the base model. */
    static void sameTraces(File expected, File actual) {
        sameRows(expected, actual, "traces", "generated_at", "model_id");
    }

    static void samePairs(File expected, File actual) {
        sameRows(expected, actual, "pairs", "model_id");
    }

    private static void sameRows(File expected, File actual, String table, String... ignored) {
        Dataset<Row> a = spark().read().parquet(new File(expected, table).getAbsolutePath()).drop(ignored);
        Dataset<Row> b = spark().read().parquet(new File(actual, table).getAbsolutePath()).drop(ignored);
        long n = a.count();
        assertTrue(n > 0, table + " is empty in " + expected);
        assertEquals(n, b.count(), table + ": row count (no lost, no duplicated rows) in " + actual);
        assertEquals(n, b.distinct().count(), table + ": no duplicated rows in " + actual);
        List<String> differing = new ArrayList<>();
        for (String c : a.columns()) {
            if (a.select(c).exceptAll(b.select(c)).count() > 0) {
                differing.add(c);
            }
        }
        assertEquals(List.of(), differing, table + ": columns that differ between " + expected + " and " + actual);
        assertEquals(0, a.exceptAll(b).count(), table + ": rows that differ between " + expected + " and " + actual);
    }

    static String weights(File run) throws Exception {
        return new ObjectMapper().readTree(new File(run, "checkpoints/rlsf/checkpoint/checkpoint.json"))
                .get("weights_sha256").asText();
    }
}
