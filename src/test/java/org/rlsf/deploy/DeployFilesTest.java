package org.rlsf.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.rlsf.job.Main;
import picocli.CommandLine;

import java.io.File;
import java.io.FileReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * deploy/ must not drift from the code: the command lines in the Airflow DAGs and the spark-operator
 * manifests parse with rlsf's own CLI, the Spark properties name classes that exist, the files the scripts
 * and the Dockerfile ship exist, and the scripts and YAML pass shellcheck and yamllint. The Python, shellcheck
 * and yamllint checks need those tools (Debian packages; .ci/run installs them) and are skipped without them.
 */
class DeployFilesTest {
    static final Path ROOT = Path.of("").toAbsolutePath();
    static final Path DEPLOY = ROOT.resolve("deploy");

    record Result(int exit, String out, String err) {
    }

    static Result exec(List<String> cmd) throws Exception {
        return exec(cmd, java.util.Map.of());
    }

    static Result exec(List<String> cmd, java.util.Map<String, String> env) throws Exception {
        File out = File.createTempFile("deploy-check", ".out"), err = File.createTempFile("deploy-check", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectOutput(out).redirectError(err);
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("timed out: " + cmd);
            }
            return new Result(p.exitValue(), Files.readString(out.toPath()), Files.readString(err.toPath()));
        } finally {
            out.delete();
            err.delete();
        }
    }

    static String tool(String... candidates) {
        for (String c : candidates) {
            if (c.startsWith("/")) {
                if (new File(c).canExecute()) {
                    return c;
                }
                continue;
            }
            for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
                if (new File(dir, c).canExecute()) {
                    return new File(dir, c).getAbsolutePath();
                }
            }
        }
        return null;
    }

    @Test
    void everyDagAndManifestCommandParsesWithTheRealCli() throws Exception {
        String python = tool("/usr/bin/python3", "python3");
        assumeTrue(python != null, "python3 not installed: DAG checks skipped");
        Result r = exec(List.of(python, "deploy/airflow/check_dags.py"));
        assertEquals(0, r.exit(), () -> "deploy/airflow/check_dags.py failed:\n" + r.err());
        JsonNode commands = new ObjectMapper().readTree(r.out()).get("commands");
        Set<String> where = new TreeSet<>(), used = new TreeSet<>();
        for (JsonNode c : commands) {
            String at = c.get("where").asText();
            where.add(at.substring(0, at.indexOf(at.contains(".") ? '.' : ' ')));
            assertEquals(Main.class.getName(), c.get("java_class").asText(), at + ": main class");
            List<String> args = new ArrayList<>();
            c.get("args").forEach(a -> args.add(a.asText()));
            CommandLine.ParseResult parsed;
            try {
                parsed = new CommandLine(new Main()).parseArgs(args.toArray(new String[0]));
            } catch (CommandLine.ParameterException e) {
                throw new AssertionError(at + ": `rlsf " + String.join(" ", args) + "` does not parse: " + e.getMessage(), e);
            }
            assertTrue(parsed.hasSubcommand(), at + ": names no rlsf command");
            assertEquals(args.get(0), parsed.subcommand().commandSpec().name(), at);
            used.add(args.get(0));
        }
        assertEquals(Set.of("deploy/k8s/operator", "rlsf_k8s", "rlsf_yarn"), where, "every DAG and the manifests were checked");
        assertEquals(new TreeSet<>(List.of("checkpoint", "corpus", "evaluate", "generate", "pairs", "ppo", "report",
                "reward-model", "train")), used, "the pipeline's stages (the manifests hold every method's)");
    }

    /**
     * The YARN DAG's stages with RLSF_METHOD=both (DPO, reward model, PPO), in its order, run here one after another
     * on tiny sizes (smoke.conf, 8 problems per task instead of 300, 2 short PPO rounds): each stage finds its inputs
     * where the previous one wrote them, and the report reads the run directory they make together.
     */
    @Test
    void theDagStagesChainIntoAReport(@org.junit.jupiter.api.io.TempDir File runs) throws Exception {
        String python = tool("/usr/bin/python3", "python3");
        assumeTrue(python != null, "python3 not installed: DAG checks skipped");
        Result r = exec(List.of(python, "deploy/airflow/check_dags.py"), java.util.Map.of("RLSF_METHOD", "both"));
        assertEquals(0, r.exit(), r::err);
        org.rlsf.TestSpark.context();   // the tests' shared local[2,2] session, which the stages then join
        JsonNode commands = new ObjectMapper().readTree(r.out()).get("commands");
        int stages = runYarnStages(commands, runs);
        assertEquals(13, stages);
        File run = new File(runs, "rlsf-20260101");
        assertTrue(new File(run, "report/results.json").isFile(), "the report of the stage-by-stage run");
        JsonNode results = new ObjectMapper().readTree(new File(run, "report/results.json"));
        assertEquals(12, results.get("results").size(), "4 models (base greedy and CoT-decoding, DPO, PPO) x (arith, mcq, all)");
        assertEquals(3, results.get("reward_model_on_base_branches").size(), "the reward model judged the base's branches");

        // the DAG run again (a re-triggered run id): every stage finds its stamp, does nothing and rewrites no file
        Map<String, String> before = snapshot(run.toPath());
        assertEquals(13, runYarnStages(commands, runs));
        Map<String, String> after = snapshot(run.toPath());
        List<String> changed = new ArrayList<>();
        for (String f : new TreeSet<>(union(before.keySet(), after.keySet()))) {
            if (!java.util.Objects.equals(before.get(f), after.get(f))) {
                changed.add(f + ": " + before.get(f) + " -> " + after.get(f));
            }
        }
        assertEquals(List.of(), changed, "the second run changed files");
        assertTrue(before.keySet().stream().anyMatch(f -> f.contains("_STAGE-train.json")), "the stages stamp their outputs");
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> out = new TreeSet<>(a);
        out.addAll(b);
        return out;
    }

    /** Every file of a run directory but the logs (a rerun appends to them): path -> length, modification time, sha256. */
    private static Map<String, String> snapshot(java.nio.file.Path dir) throws Exception {
        Map<String, String> out = new java.util.TreeMap<>();
        try (var files = java.nio.file.Files.walk(dir)) {
            for (java.nio.file.Path f : files.filter(java.nio.file.Files::isRegularFile).toList()) {
                String rel = dir.relativize(f).toString();
                if (rel.contains("_logs")) {
                    continue;
                }
                try (var in = java.nio.file.Files.newInputStream(f)) {
                    out.put(rel, java.nio.file.Files.size(f) + " " + java.nio.file.Files.getLastModifiedTime(f).toMillis()
                            + " " + org.rlsf.io.FileStore.sha256(in));
                }
            }
        }
        return out;
    }

    /** Runs the YARN DAG's commands in its order on the smoke sizes; returns how many ran. */
    private static int runYarnStages(JsonNode commands, File runs) {
        String runsUri = "hdfs:///rlsf/runs";
        int stages = 0;
        for (JsonNode c : commands) {
            if (!c.get("where").asText().startsWith("rlsf_yarn.")) {
                continue;
            }
            List<String> args = new ArrayList<>();
            for (JsonNode a : c.get("args")) {
                args.add(a.asText().replace(runsUri, runs.getAbsolutePath()));
            }
            for (int i = 0; i < args.size() - 1; i++) {
                if (args.get(i).equals("--n")) {
                    args.set(i + 1, "8");
                }
            }
            CommandLine sub = new CommandLine(new Main()).getSubcommands().get(args.get(0));
            if (sub.getCommandSpec().findOption("--config") != null) {
                args.addAll(1, List.of("-c", "conf/experiments/smoke.conf"));
            }
            if (args.get(0).equals("reward-model") || args.get(0).equals("ppo")) {
                args.addAll(1, List.of("--set", "reward.epochs=1", "--set", "ppo.rounds=2", "--set", "ppo.prompts-per-round=8",
                        "--set", "ppo.max-new-tokens=24", "--set", "ppo.epochs=1"));
            }
            assertEquals(0, Main.execute(args.toArray(new String[0])), c.get("where").asText() + ": " + args);
            stages++;
        }
        return stages;
    }

    @Test
    void theSparkPropertiesNameRealClassesAndFiles() throws Exception {
        Properties common = properties("common/spark-defaults.conf");
        for (String f : new String[]{"yarn/rlsf-yarn.properties", "k8s/rlsf-k8s.properties"}) {
            Properties p = properties(f);
            p.stringPropertyNames().forEach(k -> assertTrue(k.startsWith("spark."), f + ": not a Spark setting: " + k));
        }
        common.stringPropertyNames().forEach(k -> assertTrue(k.startsWith("spark."), "not a Spark setting: " + k));
        for (String key : new String[]{"spark.serializer", "spark.kryo.registrator"}) {
            String classes = common.getProperty(key);
            assertTrue(classes != null, key + " is set");
            for (String cls : classes.split(",")) {
                Class.forName(cls.trim());   // throws if not on our classpath (and so not in the cluster jar)
            }
        }
        assertEquals("false", common.getProperty("spark.speculation"));
        assertEquals("TIMESTAMP_MICROS", common.getProperty("spark.sql.parquet.outputTimestampType"));
        assertEquals("zstd", common.getProperty("spark.sql.parquet.compression.codec"));
        Properties yarn = properties("yarn/rlsf-yarn.properties");
        assertEquals("1", yarn.getProperty("spark.yarn.maxAppAttempts"));
        for (String f : yarn.getProperty("spark.yarn.dist.files").split(",")) {
            assertTrue(Files.isRegularFile(ROOT.resolve(f)), "spark.yarn.dist.files: " + f + " exists");
        }
        assertTrue(Files.isRegularFile(ROOT.resolve(yarn.getProperty("spark.yarn.appMasterEnv.RLSF_ENV") == null ? ""
                : "conf/" + yarn.getProperty("spark.yarn.appMasterEnv.RLSF_ENV") + ".conf")));
        Properties k8s = properties("k8s/rlsf-k8s.properties");
        assertTrue(Files.isRegularFile(ROOT.resolve(k8s.getProperty("spark.kubernetes.executor.podTemplateFile"))));
        assertEquals("nvidia.com", k8s.getProperty("spark.executor.resource.gpu.vendor"));
        // pods: non-root, no privilege escalation, no capabilities, read-only root filesystem with /tmp writable
        for (String key : new String[]{"spark.kubernetes.driver.podTemplateFile", "spark.kubernetes.executor.podTemplateFile"}) {
            String template = Files.readString(ROOT.resolve(k8s.getProperty(key)));
            for (String must : new String[]{"runAsNonRoot: true", "allowPrivilegeEscalation: false", "readOnlyRootFilesystem: true",
                    "drop: [\"ALL\"]", "mountPath: /tmp"}) {
                assertTrue(template.contains(must), key + ": " + must);
            }
        }
        for (String side : new String[]{"driver", "executor"}) {   // the k8s options = the common ones + JavaCPP's cache in /tmp
            String opts = k8s.getProperty("spark." + side + ".extraJavaOptions");
            assertEquals(common.getProperty("spark." + side + ".extraJavaOptions") + " -Dorg.bytedeco.javacpp.cachedir=/tmp/javacpp", opts);
        }
        try (Stream<Path> manifests = Files.list(DEPLOY.resolve("k8s/operator"))) {
            for (Path m : manifests.toList()) {
                String text = Files.readString(m);
                assertEquals(2, text.split("runAsNonRoot: true", -1).length - 1, m + ": driver and executor run as non-root");
                assertEquals(2, text.split("readOnlyRootFilesystem: true", -1).length - 1, m + ": read-only root filesystems");
                assertTrue(text.contains("javacpp.cachedir=/tmp/javacpp"), m.toString());
            }
        }
        String rbac = Files.readString(DEPLOY.resolve("k8s/rbac.yaml"));
        assertFalse(rbac.contains("\"*\"") || rbac.contains("update") || rbac.contains("patch"), "RBAC: only what the driver needs");
        assertTrue(Files.isExecutable(DEPLOY.resolve("common/getGpusResources.sh")), "the discovery script is executable");
    }

    @Test
    void theDockerfileAndWrappersShipWhatExists() throws Exception {
        List<String> docker = Files.readAllLines(DEPLOY.resolve("k8s/Dockerfile"));
        assertTrue(docker.stream().anyMatch(l -> l.matches("ARG SPARK_IMAGE=apache/spark:3\\.5\\.\\d+-scala2\\.12-java17.*")),
                "FROM an Apache Spark 3.5 / Scala 2.12 / Java 17 image");
        assertTrue(docker.stream().anyMatch(l -> l.contains("cuda:11.")), "with the CUDA 11.x runtime");
        for (String l : docker) {
            if (l.startsWith("COPY ") && !l.contains("--from=")) {
                String src = l.split("\\s+")[1];
                if (src.startsWith("target/")) {
                    assertTrue(src.matches("target/rlsf-\\*-cluster\\.jar"), "the image ships the cluster jar: " + l);
                } else {
                    assertTrue(Files.exists(ROOT.resolve(src)), "Dockerfile copies a file that exists: " + src);
                }
            }
        }
        for (String script : new String[]{"yarn/rlsf-submit", "k8s/rlsf-submit"}) {
            Path p = DEPLOY.resolve(script);
            assertTrue(Files.isExecutable(p), script + " is executable");
            String text = Files.readString(p);
            assertTrue(text.contains("--class org.rlsf.job.Main"), script + " submits rlsf's main class");
            assertEquals(Main.class.getName(), "org.rlsf.job.Main");
        }
    }

    @Test
    void shellScriptsPassShellcheck() throws Exception {
        String shellcheck = tool("shellcheck");
        assumeTrue(shellcheck != null, "shellcheck not installed: skipped");
        List<String> cmd = new ArrayList<>(List.of(shellcheck, "--severity=style"));
        cmd.addAll(List.of("deploy/yarn/rlsf-submit", "deploy/k8s/rlsf-submit", "deploy/common/getGpusResources.sh",
                "jobs/rlsf", ".ci/run"));
        Result r = exec(cmd);
        assertEquals(0, r.exit(), () -> "shellcheck:\n" + r.out() + r.err());
    }

    @Test
    void yamlPassesYamllint() throws Exception {
        String yamllint = tool("yamllint");
        assumeTrue(yamllint != null, "yamllint not installed: skipped");
        List<String> files;
        try (Stream<Path> s = Files.walk(DEPLOY)) {
            files = s.filter(p -> p.toString().endsWith(".yaml")).map(p -> ROOT.relativize(p).toString()).sorted().toList();
        }
        assertFalse(files.isEmpty());
        List<String> cmd = new ArrayList<>(List.of(yamllint, "--strict", "-c", "deploy/.yamllint"));
        cmd.addAll(files);
        Result r = exec(cmd);
        assertEquals(0, r.exit(), () -> "yamllint:\n" + r.out() + r.err());
    }

    private static Properties properties(String file) throws IOException {
        Properties p = new Properties();
        try (FileReader in = new FileReader(DEPLOY.resolve(file).toFile())) {
            p.load(in);
        }
        return p;
    }
}
