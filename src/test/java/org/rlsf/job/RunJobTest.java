package org.rlsf.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.TestSpark;
import org.rlsf.io.EvalTable;
import org.rlsf.io.PairsTable;
import org.rlsf.io.TracesTable;
import org.rlsf.report.RunReport;

import java.io.File;
import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The main job end to end with conf/experiments/smoke.conf on local[2]: every artefact, its schema, the report; then
 * the notebooks over that run (skipped on their own where Debian's notebook tools are missing).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RunJobTest {
    /** Static: one directory for the class, so the second test finds the first test's run (an instance field is a new
     * directory per test method, even with a per-class lifecycle). */
    @TempDir
    static File runs;
    /** The smoke run's directory once the first test wrote it completely. */
    private File smokeRun;

    private static SparkSession spark() {
        return SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate();
    }

    private static void schema(Dataset<Row> df, org.apache.spark.sql.types.StructType expected, String what) {
        for (var f : expected.fields()) {
            assertTrue(df.schema().apply(f.name()).dataType().sameType(f.dataType()), what + "." + f.name());
        }
    }

    @Test
    @Order(1)
    void theSmokeRunWritesEveryArtefactAndResumes() throws Exception {
        String[] args = {"run", "-c", "conf/experiments/smoke.conf", "--run-id", "smoke", "--set", "run.ood-problems=6", "--out",
                runs.getAbsolutePath()};
        assertEquals(0, Main.execute(args));
        File run = new File(runs, "smoke");
        for (String p : new String[]{"config.conf", "corpus/prompts/_MANIFEST.json", "corpus/heldout/_MANIFEST.json",
                "checkpoints/base/checkpoint.json", "traces/run_id=smoke/_RUN.json", "pairs/run_id=smoke/_MANIFEST.json",
                "checkpoints/rlsf/checkpoint/checkpoint.json", "checkpoints/rlsf/metrics.jsonl", "report/report.md",
                "report/report.html", "report/results.csv", "report/results.json", "report/dpo-loss.png",
                "report/reliability-rlsf-greedy-all.png", "_logs/run.log"}) {
            assertTrue(new File(run, p).isFile(), "missing " + p);
        }
        schema(spark().read().parquet(new File(run, "traces").getAbsolutePath()), TracesTable.SCHEMA, "traces");
        schema(spark().read().parquet(new File(run, "pairs").getAbsolutePath()), PairsTable.SCHEMA, "pairs");
        for (String e : RunReport.EVALS) {
            Dataset<Row> problems = spark().read().parquet(new File(run, "eval/" + e + "/problems").getAbsolutePath());
            schema(problems, EvalTable.SCHEMA, e);
            assertEquals(24, problems.count(), e + ": 12 held-out problems per task");
        }
        JsonNode stages = new ObjectMapper().readTree(new File(run, "stages.json"));
        assertEquals(10, stages.size(), "corpus, base, generate, pairs, train, base evaluations (one pass), rlsf evaluation, "
                + "the same two out of distribution, report");
        for (JsonNode st : stages) {
            assertTrue(st.get("wall_s").asDouble() >= 0 && st.get("heap_peak_mb").asLong() > 0, st.toString());
        }
        JsonNode results = new ObjectMapper().readTree(new File(run, "report/results.json"));
        assertEquals(9, results.get("results").size(), "3 models x (arith, mcq, all)");
        assertEquals(9, results.get("results_ood").size(), "the same, out of distribution");
        assertEquals(6, results.get("targets_ood").size(), "3 targets x 2 tasks, out of distribution");
        for (String e : RunReport.EVALS) {
            assertEquals(12, spark().read().parquet(new File(run, "eval/" + e + "-ood/problems").getAbsolutePath()).count(),
                    e + ": 6 out-of-distribution problems per task");
        }
        String html = Files.readString(new File(run, "report/report.html").toPath());
        assertTrue(html.contains("<table>") && html.contains("rlsf-greedy") && html.contains("reliability-base-greedy-arith.png"));
        // the report reads only artefacts: regenerating it from the run directory gives the same tables
        String csv = Files.readString(new File(run, "report/results.csv").toPath());
        assertEquals(0, Main.execute("report", "--run", run.getAbsolutePath()));
        assertEquals(csv, Files.readString(new File(run, "report/results.csv").toPath()));

        // rerunning the id resumes: every step is found done, nothing changes
        long pairsModified = new File(run, "pairs/run_id=smoke/_MANIFEST.json").lastModified();
        assertEquals(0, Main.execute(args));
        assertEquals(pairsModified, new File(run, "pairs/run_id=smoke/_MANIFEST.json").lastModified());
        assertEquals(csv, Files.readString(new File(run, "report/results.csv").toPath()));
        smokeRun = run;
    }

    /**
     * The notebooks run over the report's tables; their assert cells (ECE recomputed from the bins, the targets
     * recomputed from the table) make this a check of the written tables (needs Debian's nbconvert).
     */
    @Test
    @Order(2)
    void theNotebooksRunOverTheSmokeRun() throws Exception {
        assumeTrue(smokeRun != null, "the smoke run did not complete (see the test before)");
        assumeTrue(notebooksAvailable(), "Debian python3 with nbconvert/pandas/matplotlib/tabulate not installed");
        File run = smokeRun;
        File exported = new File(runs, "notebooks");
        Process p = new ProcessBuilder("jobs/notebooks", run.getAbsolutePath(), exported.getAbsolutePath())
                .redirectErrorStream(true).redirectOutput(new File(runs, "notebooks.log")).start();
        assertTrue(p.waitFor(5, java.util.concurrent.TimeUnit.MINUTES), "notebooks finished");
        assertEquals(0, p.exitValue(), () -> "jobs/notebooks failed: " + readQuietly(new File(runs, "notebooks.log")));
        for (String f : new String[]{"reliability.md", "reliability.html", "accuracy_cost.md", "accuracy_cost.html"}) {
            assertTrue(new File(exported, f).isFile(), "exported " + f);
        }
        assertTrue(Files.readString(new File(exported, "reliability.md").toPath()).contains("ECE from bins"));
    }

    /**
     * A kill after DPO created {@code epochs/} but before epoch 1's checkpoint committed: the rerun trains from the
     * base instead of failing with "nothing to resume" (issue: the DPO resume window).
     */
    @Test
    @Order(3)
    void aKillBeforeTheFirstEpochCommitsDoesNotWedgeTheRun() throws Exception {
        assumeTrue(smokeRun != null, "the smoke run did not complete (see the first test)");
        File tuned = new File(smokeRun, "checkpoints/rlsf");
        for (String gone : new String[]{"checkpoints/rlsf", "eval/rlsf-greedy", "report"}) {
            org.apache.commons.io.FileUtils.deleteDirectory(new File(smokeRun, gone));
        }
        assertTrue(new File(tuned, "epochs/epoch-1").mkdirs(), "the state a kill in that window leaves");
        assertEquals(0, Main.execute("run", "-c", "conf/experiments/smoke.conf", "--run-id", "smoke", "--set",
                "run.ood-problems=6", "--out", runs.getAbsolutePath()));
        assertTrue(new File(tuned, "checkpoint/checkpoint.json").isFile());
        assertTrue(new File(smokeRun, "report/results.csv").isFile());
    }

    /**
     * Two RLSF rounds (run.rounds = 2): round 2 writes its traces with round 1's policy on prompts no round saw, trains
     * against it, is evaluated in and out of distribution; the probe traces round 2's policy; the report has the
     * per-round table, its charts and the kept round.
     */
    @Test
    @Order(4)
    void twoRoundsRunOnFreshPromptsAgainstThePreviousPolicy() throws Exception {
        assertEquals(0, Main.execute("run", "-c", "conf/experiments/smoke.conf", "--run-id", "rounds", "--set", "run.rounds=2",
                "--set", "run.ood-problems=6", "--out", runs.getAbsolutePath()));
        File run = new File(runs, "rounds"), round2 = new File(run, "rounds/round-2");
        for (String p : new String[]{"corpus/prompts/_MANIFEST.json", "traces/run_id=rounds-r2/_RUN.json",
                "pairs/run_id=rounds-r2/_MANIFEST.json", "checkpoints/rlsf/checkpoint/checkpoint.json",
                "eval/rlsf-greedy/summary.json", "eval/rlsf-greedy-ood/summary.json"}) {
            assertTrue(new File(round2, p).isFile(), "round 2 lacks " + p);
        }
        assertTrue(new File(run, "rounds/round-3/traces/run_id=rounds-r3/_RUN.json").isFile(), "the probe's traces");
        assertTrue(!new File(run, "rounds/round-3/checkpoints").exists(), "the probe trains nothing");
        java.util.Set<String> first = new java.util.HashSet<>(spark().read().parquet(new File(run, "corpus/prompts").getAbsolutePath())
                .select("question").as(org.apache.spark.sql.Encoders.STRING()).collectAsList());
        List<String> second = spark().read().parquet(new File(round2, "corpus/prompts").getAbsolutePath())
                .select("question").as(org.apache.spark.sql.Encoders.STRING()).collectAsList();
        assertEquals(32, second.size(), "16 fresh prompts per task");
        assertTrue(second.stream().noneMatch(first::contains), "round 2 reuses no prompt of round 1");
        String round1Policy = new ObjectMapper().readTree(new File(run, "checkpoints/rlsf/checkpoint/checkpoint.json"))
                .get("weights_sha256").asText();
        List<String> writers = spark().read().parquet(new File(round2, "traces").getAbsolutePath()).select("weights_sha256")
                .distinct().as(org.apache.spark.sql.Encoders.STRING()).collectAsList();
        assertEquals(List.of(round1Policy), writers, "round 2's traces are round 1's policy's");
        JsonNode summary = new ObjectMapper().readTree(new File(run, "rounds/summary.json"));
        assertEquals(3, summary.get("policies").size(), "base, round 1, round 2");
        int kept = summary.get("kept_round").asInt();
        assertTrue(kept >= 0 && kept <= 2, "kept " + kept);
        JsonNode results = new ObjectMapper().readTree(new File(run, "report/results.json"));
        assertEquals(3, results.get("rounds").size());
        assertEquals(kept, results.get("rounds_kept").asInt());
        assertTrue(Files.readString(new File(run, "report/report.md").toPath()).contains("## Rounds"));
        for (String chart : new String[]{"accuracy", "ece", "tokens", "signals"}) {
            assertTrue(new File(run, "report/rounds-" + chart + ".png").isFile(), chart);
        }
    }

    static boolean notebooksAvailable() throws Exception {
        if (!new File("/usr/bin/python3").canExecute()) {
            return false;
        }
        Process p = new ProcessBuilder("/usr/bin/python3", "-c", "import nbconvert, ipykernel, pandas, matplotlib, tabulate")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) && p.exitValue() == 0;
    }

    private static String readQuietly(File f) {
        try {
            return Files.readString(f.toPath());
        } catch (Exception e) {
            return "(no log)";
        }
    }
}
