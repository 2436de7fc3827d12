package org.rlsf.job;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.rlsf.TestSpark;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input for every reader, through the real CLI over a run's good outputs (a base checkpoint, corpora, a traces
 * and a pairs table): each case must fail with a non-zero exit code and an error naming what and where, and leave every
 * good file as it was (length, modification time, content). Input other tools write that is fine (a UTF-8 byte-order
 * mark) must import. The summary table goes to {@code target/fault-suite.md}, which {@code mvn verify} prints; the
 * kill cases are {@link GenerateKillTest}, {@link StageKillTest} and the cluster's executor loss (ClusterIT).
 */
class FaultSuiteTest {
    private static Path dir;
    private static final List<String[]> TABLE = new ArrayList<>();
    private static int tried, caught, lost;

    @BeforeAll
    static void goodRun() throws Exception {
        dir = Files.createTempDirectory("rlsf-faults");
        TestSpark.context();
        String smoke = "conf/experiments/smoke.conf";
        ok("checkpoint", "--from", "builtin:base", "--out", p("good/base"));
        ok("corpus", "-c", smoke, "--task", "arith", "--n", "6", "--seed", "1", "--split", "train", "--out", p("good/prompts"));
        ok("corpus", "-c", smoke, "--task", "arith", "--n", "6", "--seed", "2", "--split", "heldout", "--out", p("good/heldout"));
        ok("generate", "-c", smoke, "--model", p("good/base"), "--corpus", p("good/prompts"), "--out", p("good/traces"),
                "--run-id", "r", "--set", "generate.k=3", "--set", "generate.max-new-tokens=24");
        ok("pairs", "-c", smoke, "--traces", p("good/traces"), "--out", p("good/pairs"), "--run-id", "r");
        Files.createDirectories(dir.resolve("in"));
        Files.writeString(dir.resolve("in/prompts.jsonl"), "{\"prompt\": \"Q: What is 2 + 2?\\nA:\"}\n");
        ok("corpus", "--task", "prompts", "--input", p("in/prompts.jsonl"), "--out", p("good/prompts-unlabelled"));
    }

    @AfterAll
    static void summary() throws Exception {
        StringBuilder md = new StringBuilder("# Fault and bad-input suite (FaultSuiteTest)\n\n")
                .append("| case | reader | exit | caught | good files changed | error |\n|---|---|---|---|---|---|\n");
        for (String[] r : TABLE) {
            md.append("| ").append(String.join(" | ", r)).append(" |\n");
        }
        md.append(String.format("%nCases tried: %d, caught: %d, data lost: %d. Kill cases: GenerateKillTest, StageKillTest "
                + "(SIGKILL mid-stage, rerun = uninterrupted output); executor loss: ClusterIT.%n", tried, caught, lost));
        Path out = Path.of("target", "fault-suite.md");
        Files.createDirectories(out.getParent());
        Files.writeString(out, md.toString());
        org.apache.commons.io.FileUtils.deleteQuietly(dir.toFile());
    }

    private static String p(String rel) {
        return dir.resolve(rel).toString();
    }

    private static void ok(String... args) {
        assertEquals(0, Main.execute(args), String.join(" ", args));
    }

    /** Runs a bad case: non-zero exit, the error names each fragment, no good file touched. */
    private static void bad(String name, String reader, List<String> mustName, String... args) throws Exception {
        Map<String, String> before = snapshot();
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int exit;
        try {
            System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
            exit = Main.execute(args);
        } finally {
            System.setErr(err);
        }
        String message = buf.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("error:") || l.startsWith("Invalid")
                || l.contains("invalid")).findFirst().orElse(buf.toString(StandardCharsets.UTF_8).strip());
        boolean named = mustName.stream().allMatch(message::contains);
        int changed = changed(before, snapshot());
        tried++;
        caught += exit != 0 && named ? 1 : 0;
        lost += changed;
        TABLE.add(new String[]{name, reader, String.valueOf(exit), exit != 0 && named ? "yes" : "NO", String.valueOf(changed),
                message.replace("|", "\\|").replace("\n", " ")});
        assertTrue(exit != 0, name + ": exit code " + exit);
        assertTrue(named, name + ": the error should name " + mustName + ": " + message);
        assertEquals(0, changed, name + ": good files changed");
    }

    private static Map<String, String> snapshot() throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (var files = Files.walk(dir.resolve("good"))) {
            for (Path f : files.filter(Files::isRegularFile).filter(f -> !f.toString().contains("_logs")).toList()) {
                out.put(dir.relativize(f).toString(), Files.size(f) + " " + Files.getLastModifiedTime(f).toMillis() + " "
                        + java.util.Arrays.hashCode(Files.readAllBytes(f)));
            }
        }
        return out;
    }

    private static int changed(Map<String, String> a, Map<String, String> b) {
        int n = 0;
        for (String k : new java.util.TreeSet<>(union(a.keySet(), b.keySet()))) {
            n += java.util.Objects.equals(a.get(k), b.get(k)) ? 0 : 1;
        }
        return n;
    }

    private static java.util.Set<String> union(java.util.Set<String> a, java.util.Set<String> b) {
        java.util.Set<String> u = new java.util.TreeSet<>(a);
        u.addAll(b);
        return u;
    }

    private static String write(String name, byte[] bytes) throws Exception {
        Path f = dir.resolve("in").resolve(name);
        Files.write(f, bytes);
        return f.toString();
    }

    private static String copyOfBase(String name) throws Exception {
        Path copy = dir.resolve("in").resolve(name);
        org.apache.commons.io.FileUtils.copyDirectory(dir.resolve("good/base").toFile(), copy.toFile());
        return copy.toString();
    }

    @Test
    void everyReaderRefusesBadInputByNameAndLosesNothing() throws Exception {
        String row = "{\"question\": \"What is 2 + 3?\", \"answer\": \"2 + 3 = 5\\n#### 5\"}\n";
        // corpus JSONL (rlsf corpus --input), imported over the existing good prompt corpus
        bad("JSONL: invalid JSON", "corpus import", List.of("bad-json.jsonl", "line 3"), "corpus", "--task", "gsm8k", "--input",
                write("bad-json.jsonl", (row + row + "{\"question\": \"x\", \n").getBytes(StandardCharsets.UTF_8)),
                "--out", p("good/prompts"));
        byte[] latin1 = (row + "{\"question\": \"caf\u00e9 costs 3?\", \"answer\": \"#### 3\"}\n").getBytes(StandardCharsets.ISO_8859_1);
        bad("JSONL: invalid UTF-8 bytes", "corpus import", List.of("latin1.jsonl", "line 2", "UTF-8"), "corpus", "--task", "gsm8k",
                "--input", write("latin1.jsonl", latin1), "--out", p("good/prompts"));
        bad("JSONL: a missing field", "corpus import", List.of("no-answer.jsonl", "line 2", "answer"), "corpus", "--task", "gsm8k",
                "--input", write("no-answer.jsonl", (row + "{\"question\": \"1 + 1?\"}\n").getBytes(StandardCharsets.UTF_8)),
                "--out", p("good/prompts"));
        bad("corpus --out over a directory that is not a corpus", "corpus writer", List.of("good", "traces"), "corpus", "--task",
                "arith", "--n", "4", "--seed", "1", "--split", "train", "--out", p("good/traces"));

        // Parquet tables of the wrong schema or version
        bad("generate: a traces table given as the corpus", "corpus table", List.of("good/traces"), "generate",
                "--model", p("good/base"), "--corpus", p("good/traces"), "--out", p("good/traces"), "--run-id", "x");
        bad("pairs: a corpus given as the traces table", "traces table", List.of("good/prompts"), "pairs", "--traces",
                p("good/prompts"), "--out", p("good/pairs"), "--run-id", "r");
        bad("train: a traces table given as the pairs table", "pairs table", List.of("good/traces"), "train", "--model",
                p("good/base"), "--pairs", p("good/traces"), "--out", p("in/tuned"));
        SparkSession spark = SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate();
        spark.read().parquet(p("good/traces")).withColumn("schema_version", functions.lit(99)).write()
                .partitionBy("run_id", "shard").parquet(p("in/traces-v99"));
        bad("pairs: a traces table of a future schema version", "traces table", List.of("99"), "pairs", "--traces",
                p("in/traces-v99"), "--out", p("good/pairs"), "--run-id", "r");

        // checkpoints
        String noTok = copyOfBase("base-no-tokenizer");
        Files.delete(Path.of(noTok, "tokenizer.json"));
        bad("checkpoint: a file missing", "checkpoint", List.of("base-no-tokenizer", "tokenizer.json"), "generate", "--model",
                noTok, "--corpus", p("good/prompts"), "--out", p("good/traces"), "--run-id", "r2");
        String flipped = copyOfBase("base-flipped");
        byte[] zip = Files.readAllBytes(Path.of(flipped, "model.zip"));
        zip[zip.length / 2] ^= 0x5a;
        Files.write(Path.of(flipped, "model.zip"), zip);
        bad("checkpoint: a corrupted weights file", "checkpoint", List.of("base-flipped", "model.zip"), "generate", "--model",
                flipped, "--corpus", p("good/prompts"), "--out", p("good/traces"), "--run-id", "r3");
        String noFiles = copyOfBase("base-no-files");
        String manifest = Files.readString(Path.of(noFiles, "checkpoint.json"));
        Files.writeString(Path.of(noFiles, "checkpoint.json"), manifest.replaceAll("(?s)\"files\"\\s*:\\s*\\{[^}]*\\}\\s*,?", "")
                .replaceAll(",\\s*}", "}"));
        Files.deleteIfExists(Path.of(noFiles, ".checkpoint.json.crc"));   // edited by hand, as a user would
        bad("checkpoint: checkpoint.json without its file hashes", "checkpoint", List.of("base-no-files", "files"), "evaluate",
                "--model", noFiles, "--corpus", p("good/heldout"), "--out", p("in/eval"));

        // configuration and identifiers, refused before any work
        bad("config: a value out of range", "config", List.of("generate.shards"), "generate", "--model", p("good/base"),
                "--corpus", p("good/prompts"), "--out", p("good/traces"), "--run-id", "r", "--set", "generate.shards=0");
        bad("config: an unknown key", "config", List.of("generate.shardz"), "generate", "--model", p("good/base"),
                "--corpus", p("good/prompts"), "--out", p("good/traces"), "--run-id", "r", "--set", "generate.shardz=3");
        bad("run id escaping the run directory", "CLI", List.of("../x"), "pairs", "--traces", p("good/traces"), "--out",
                p("good/pairs"), "--run-id", "../x");
        bad("evaluate: an unlabelled corpus", "evaluate", List.of("gold answer"), "evaluate", "--model", p("good/base"),
                "--corpus", p("good/prompts-unlabelled"), "--out", p("in/eval2"));

        // input other tools write that is fine: a UTF-8 byte-order mark (Windows editors) imports
        byte[] bom = ("\uFEFF" + row).getBytes(StandardCharsets.UTF_8);
        assertEquals(0, Main.execute("corpus", "--task", "gsm8k", "--input", write("bom.jsonl", bom), "--out", p("in/bom")));
        TABLE.add(new String[]{"JSONL with a UTF-8 byte-order mark", "corpus import", "0", "imported (as it should)", "0", ""});
    }
}
