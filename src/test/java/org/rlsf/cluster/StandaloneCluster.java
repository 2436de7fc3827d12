package org.rlsf.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A real Spark standalone cluster on loopback for the integration tests: one master and N workers,
 * each its own JVM started from {@code $SPARK_HOME/jars} (target/spark-dist: exactly Spark's own jars, as
 * in a Spark distribution), and applications submitted through {@code SparkSubmit} with the cluster jar.
 * Nothing of rlsf is on these JVMs' classpaths: only the submitted jar brings our code and DL4J.
 */
final class StandaloneCluster implements AutoCloseable {
    static final int WORKER_CORES = 1;
    static final String WORKER_MEMORY = "3g";

    final File sparkHome;
    final File clusterJar;
    final List<String> javaOpens;
    final File dir;
    final int masterPort;
    final int masterUiPort;
    private Process master;
    private final List<Process> workers = new ArrayList<>();

    StandaloneCluster(File dir, int workerCount) throws Exception {
        this.sparkHome = new File(required("rlsf.it.sparkHome"));
        this.clusterJar = new File(required("rlsf.it.clusterJar"));
        this.javaOpens = Arrays.stream(required("rlsf.it.javaOpens").trim().split("\\s+")).toList();
        if (!new File(sparkHome, "jars").isDirectory() || !clusterJar.isFile()) {
            throw new IllegalStateException("run through `mvn verify`: needs " + sparkHome + "/jars and " + clusterJar);
        }
        this.dir = dir;
        Files.createDirectories(dir.toPath());
        this.masterPort = freePort();
        this.masterUiPort = freePort();
        master = start("master", List.of("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                "--port", String.valueOf(masterPort), "--webui-port", String.valueOf(masterUiPort)), "512m");
        for (int i = 0; i < workerCount; i++) {
            workers.add(startWorker(i));
        }
        awaitAliveWorkers(workerCount, Duration.ofSeconds(90));
    }

    String masterUrl() {
        return "spark://127.0.0.1:" + masterPort;
    }

    private Process startWorker(int i) throws IOException {
        File work = new File(dir, "work-" + i);
        Files.createDirectories(work.toPath());
        return start("worker-" + i, List.of("org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                "--cores", String.valueOf(WORKER_CORES), "--memory", WORKER_MEMORY, "--webui-port", "0",
                "--work-dir", work.getAbsolutePath(), masterUrl()), "512m");
    }

    /** Kills worker i and every process it started (its executors) at once, as a lost machine would. */
    void killWorker(int i) {
        Process w = workers.get(i);
        w.descendants().forEach(ProcessHandle::destroyForcibly);
        w.destroyForcibly();
        try {
            w.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The id of the executor that worker i runs for the newest application (work dir app-ID/EXECUTOR_ID). */
    String executorOn(int i) throws Exception {
        File work = new File(dir, "work-" + i);
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < end) {
            File[] apps = work.listFiles(f -> f.getName().startsWith("app-"));
            if (apps != null && apps.length > 0) {
                java.util.Arrays.sort(apps);
                String[] executors = apps[apps.length - 1].list();
                if (executors != null && executors.length > 0) {
                    return executors[0];
                }
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("worker " + i + " started no executor");
    }

    /** Starts a fresh worker in slot i (after {@link #killWorker}) and waits until the master counts it. */
    void restartWorker(int i) throws Exception {
        workers.set(i, startWorker(i));
        awaitAliveWorkers(workers.size(), Duration.ofSeconds(90));
    }

    /**
     * Starts {@code SparkSubmit --class org.rlsf.job.Main <cluster jar> args} against {@code master} (a
     * {@code spark://} URL or {@code local[N]}), output to {@code log}; returns without waiting.
     */
    Submission submit(String master, File log, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(java("2g"));
        File events = new File(dir, "spark-events");
        Files.createDirectories(events.toPath());
        // deploy/common/spark-defaults.conf as every cluster target uses it (Kryo + Nd4jRegistrator, zstd, ...),
        // sized down to this machine's 1-core workers
        cmd.addAll(List.of("-Dorg.bytedeco.javacpp.maxbytes=3G", "org.apache.spark.deploy.SparkSubmit",
                "--master", master, "--class", "org.rlsf.job.Main",
                "--properties-file", new File("deploy/common/spark-defaults.conf").getAbsolutePath(),
                "--conf", "spark.eventLog.dir=" + events.toURI(),
                "--conf", "spark.executor.cores=" + WORKER_CORES,
                "--conf", "spark.executor.memory=1500m",
                "--conf", "spark.executor.extraJavaOptions=-Dorg.bytedeco.javacpp.maxbytes=2G --add-modules=jdk.incubator.vector",
                "--conf", "spark.ui.enabled=false",
                clusterJar.getAbsolutePath()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log);
        env(pb.environment());
        return new Submission(pb.start(), log);
    }

    record Submission(Process process, File log) {
        /** Waits until the log has a line matching {@code line}, or fails after {@code timeout}. */
        boolean awaitLog(Predicate<String> line, Duration timeout) throws Exception {
            return awaitText(text -> text.lines().anyMatch(line), timeout);
        }

        /** Waits until the whole log satisfies {@code text}, or fails after {@code timeout}. */
        boolean awaitText(Predicate<String> text, Duration timeout) throws Exception {
            long end = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < end) {
                if (Files.exists(log.toPath()) && text.test(Files.readString(log.toPath()))) {
                    return true;
                }
                if (!process.isAlive()) {
                    return false;
                }
                Thread.sleep(100);
            }
            return false;
        }

        int await(Duration timeout) throws Exception {
            if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                throw new AssertionError("submission did not finish in " + timeout + "; log " + log);
            }
            return process.exitValue();
        }

        String logText() throws IOException {
            return Files.readString(log.toPath());
        }
    }

    private Process start(String name, List<String> mainAndArgs, String heap) throws IOException {
        List<String> cmd = new ArrayList<>(java(heap));
        cmd.addAll(mainAndArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(new File(dir, name + ".log"));
        env(pb.environment());
        return pb.start();
    }

    private List<String> java(String heap) {
        List<String> cmd = new ArrayList<>();
        cmd.add(new File(System.getProperty("java.home"), "bin/java").getAbsolutePath());
        cmd.add("-Xmx" + heap);
        cmd.addAll(javaOpens);
        cmd.add("-cp");
        cmd.add(new File(sparkHome, "jars").getAbsolutePath() + File.separator + "*");
        return cmd;
    }

    private void env(Map<String, String> env) {
        // the worker builds executor command lines from SPARK_HOME (jars/) like a real installation
        env.put("SPARK_HOME", sparkHome.getAbsolutePath());
        env.put("SPARK_SCALA_VERSION", "2.12");
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("OMP_NUM_THREADS", "1");
        env.remove("SPARK_CONF_DIR");
    }

    private void awaitAliveWorkers(int n, Duration timeout) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long end = System.nanoTime() + timeout.toNanos();
        int alive = -1;
        while (System.nanoTime() < end) {
            try {
                String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + masterUiPort + "/json/"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
                JsonNode json = new ObjectMapper().readTree(body);
                alive = json.path("aliveworkers").asInt(-1);
                if (alive >= n) {
                    return;
                }
            } catch (IOException e) {
                // master not up yet
            }
            if (!master.isAlive()) {
                throw new IllegalStateException("master died: see " + new File(dir, "master.log"));
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("only " + alive + " of " + n + " workers alive after " + timeout + ": see " + dir);
    }

    @Override
    public void close() {
        for (Process p : workers) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        if (master != null) {
            master.destroyForcibly();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String required(String property) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException("system property " + property + " is not set: run the cluster tests with `mvn verify`");
        }
        return v;
    }
}
