package org.rlsf.cluster;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.File;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Opt-in ({@code mvn verify -Pyarn-it -Dit.test=YarnIT}, about 2 minutes): a real YARN (MiniYARNCluster: a
 * ResourceManager and a NodeManager) over a real HDFS (MiniDFSCluster), in this JVM. The cluster jar is submitted
 * with {@code SparkSubmit --master yarn} in client mode, so the application master and the executors run in YARN
 * containers launched by the NodeManager: {@code corpus} writes Parquet to HDFS, {@code checkpoint} puts the
 * built-in base on HDFS, and {@code generate} loads it there and runs DL4J decoding inside a container.
 */
@Tag("yarn")
class YarnIT {

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void aStageRunsInYarnContainersAndWritesToHdfs() throws Exception {
        File dir = new File("target/yarn-it").getAbsoluteFile();
        org.apache.commons.io.FileUtils.deleteDirectory(dir);
        Files.createDirectories(dir.toPath());

        Configuration conf = new YarnConfiguration();
        // Java 17 + the minicluster: a plain capacity-scheduler queue, no memory policing of JVM containers
        conf.set("yarn.scheduler.capacity.root.queues", "default");
        conf.set("yarn.scheduler.capacity.root.default.capacity", "100");
        conf.set("yarn.scheduler.capacity.maximum-am-resource-percent", "1.0");
        conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 256);
        conf.setInt(YarnConfiguration.RM_SCHEDULER_MAXIMUM_ALLOCATION_MB, 8192);
        conf.setInt(YarnConfiguration.NM_PMEM_MB, 8192);
        conf.setInt(YarnConfiguration.NM_VCORES, 4);
        conf.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, false);
        conf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, new File(dir, "hdfs").getAbsolutePath());

        MiniDFSCluster dfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        MiniYARNCluster yarn = new MiniYARNCluster("rlsf-yarn-it", 1, 1, 1);
        try {
            dfs.waitClusterUp();
            conf.set("fs.defaultFS", dfs.getURI().toString());
            yarn.init(conf);
            yarn.start();
            Configuration live = yarn.getConfig();
            long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (live.get(YarnConfiguration.RM_ADDRESS, "").endsWith(":0") && System.nanoTime() < end) {
                Thread.sleep(200);
            }
            // the minicluster's test-only topology class is not in a Hadoop client's jars
            live.unset("net.topology.node.switch.mapping.impl");
            File hadoopConf = new File(dir, "hadoop-conf");
            Files.createDirectories(hadoopConf.toPath());
            for (String site : new String[]{"core-site.xml", "yarn-site.xml", "hdfs-site.xml"}) {
                try (OutputStream out = new FileOutputStream(new File(hadoopConf, site))) {
                    live.writeXml(out);
                }
            }

            String runs = dfs.getURI() + "/rlsf/runs/yarn-it";
            String out = runs + "/corpus/heldout";
            submit(dir, hadoopConf, "corpus", List.of("corpus", "--task", "arith,mcq", "--n", "20", "--split", "heldout",
                    "--out", out));
            // DL4J in a container: the base model on HDFS, loaded by the executor from there
            submit(dir, hadoopConf, "checkpoint", List.of("checkpoint", "--from", "builtin:base", "--out", runs + "/base"));
            submit(dir, hadoopConf, "generate", List.of("generate", "--main-job-settings", "--model", runs + "/base",
                    "--corpus", out, "--out", runs + "/traces", "--run-id", "y", "--set", "generate.k=2",
                    "--set", "generate.shards=2"));

            // the stage's Parquet and manifest are on HDFS
            FileSystem fs = FileSystem.get(dfs.getURI(), live);
            assertTrue(fs.exists(new Path(out, "_MANIFEST.json")), "the corpus manifest on HDFS");
            assertTrue(fs.listStatus(new Path(out), f -> f.getName().endsWith(".parquet")).length > 0, "Parquet on HDFS");
            // YARN ran it: the application is known to the ResourceManager and ended well
            try (YarnClient client = YarnClient.createYarnClient()) {
                client.init(live);
                client.start();
                List<ApplicationReport> apps = client.getApplications();
                // checkpoint only copies files in the client (no SparkContext, so no YARN application)
                assertEquals(2, apps.size(), "two YARN applications: corpus and generate");
                for (ApplicationReport app : apps) {
                    assertEquals(FinalApplicationStatus.SUCCEEDED, app.getFinalApplicationStatus(), app.getName());
                    assertEquals("SPARK", app.getApplicationType());
                }
            }
            assertTrue(fs.exists(new Path(runs + "/traces/run_id=y/_RUN.json")), "traces written on HDFS");
            String log = Files.readString(new File(dir, "generate.log").toPath());
            assertTrue(log.contains("YarnSchedulerBackend") && log.contains("Registered executor"),
                    "the executors came from YARN containers");
            assertTrue(log.contains("wrote 80 traces"), "40 prompts x K=2 traces");
        } finally {
            yarn.stop();
            dfs.shutdown();
        }
    }

    /** spark-submit (the SparkSubmit class, as bin/spark-submit runs it) to YARN in client mode; log in dir/name.log. */
    private static void submit(File dir, File hadoopConf, String name, List<String> args) throws Exception {
        String sparkHome = System.getProperty("rlsf.it.sparkHome");
        String clusterJar = System.getProperty("rlsf.it.clusterJar");
        List<String> opens = List.of(System.getProperty("rlsf.it.javaOpens").trim().split("\\s+"));
        List<String> cmd = new java.util.ArrayList<>(List.of(
                new File(System.getProperty("java.home"), "bin/java").getAbsolutePath(), "-Xmx1g"));
        cmd.addAll(opens);
        // as bin/spark-class does: the Hadoop configuration directory goes on the client's classpath
        cmd.addAll(List.of("-cp", hadoopConf.getAbsolutePath() + File.pathSeparator + sparkHome + "/jars/*",
                "org.apache.spark.deploy.SparkSubmit",
                "--master", "yarn", "--deploy-mode", "client", "--name", "rlsf-" + name,
                "--properties-file", new File("deploy/common/spark-defaults.conf").getAbsolutePath(),
                "--conf", "spark.eventLog.enabled=false",
                // the NodeManager is on this machine: containers use Spark's jars in place
                "--conf", "spark.yarn.jars=local:" + sparkHome + "/jars/*",
                "--conf", "spark.executor.instances=1",
                "--conf", "spark.executor.cores=1",
                // the minicluster's NodeManager offers 4 GB: AM 0.9 GB + one 2 GB executor container
                "--conf", "spark.executor.memory=1g",
                "--conf", "spark.executor.memoryOverhead=1g",
                "--conf", "spark.executor.extraJavaOptions=-Dorg.bytedeco.javacpp.maxbytes=2G --add-modules=jdk.incubator.vector",
                "--conf", "spark.yarn.am.memory=512m",
                "--conf", "spark.yarn.maxAppAttempts=1",
                "--conf", "spark.ui.enabled=false",
                "--class", "org.rlsf.job.Main", clusterJar));
        cmd.addAll(args);
        File log = new File(dir, name + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log);
        pb.environment().put("HADOOP_CONF_DIR", hadoopConf.getAbsolutePath());
        pb.environment().put("SPARK_HOME", sparkHome);
        pb.environment().put("SPARK_SCALA_VERSION", "2.12");
        Process p = pb.start();
        if (!p.waitFor(6, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("spark-submit " + name + " to YARN did not finish; see " + log);
        }
        assertEquals(0, p.exitValue(), () -> "spark-submit " + name + " to YARN failed; see " + log);
    }
}
