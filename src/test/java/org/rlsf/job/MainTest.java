package org.rlsf.job;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {
    /** The CLI with Main's error reporting, writing to {@code err}. */
    private static CommandLine withCapturedErrors(StringWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.setErr(new PrintWriter(err));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("error: " + Main.describe(e));
            return 1;
        });
        return cli;
    }

    @Test
    void helpListsEverySubcommandWithADescription() {
        CommandLine cli = new CommandLine(new Main());
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("--help"));
        for (String sub : cli.getSubcommands().keySet()) {
            String description = String.join(" ", cli.getSubcommands().get(sub).getCommandSpec().usageMessage().description());
            assertFalse(description.isBlank(), sub + " has no description");
            assertTrue(out.toString().contains("  " + sub + " "), sub + " missing from --help:\n" + out);
        }
        assertTrue(cli.getSubcommands().keySet().containsAll(java.util.List.of("run", "pretrain", "sample", "bench")));
        assertTrue(cli.getSubcommands().get("bench").getSubcommands().containsKey("model"));
    }

    @Test
    void stdoutFilterDropsDl4jNoiseOnly() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream filtered = new Console.FilteringStream(new PrintStream(bytes, true));
        filtered.println("Added differentiated op mmul");
        filtered.println("epoch 1/3 step 4");
        assertEquals("epoch 1/3 step 4" + System.lineSeparator(), bytes.toString());
    }

    @Test
    void badCorpusFailsWithExitCodeOneAndNamesFileLineField(@TempDir File dir) throws Exception {
        File corpus = new File(dir, "bad.jsonl");
        Files.writeString(corpus.toPath(), "{\"text\":\"fine\"}\n{\"txt\":\"oops\"}\n");
        StringWriter err = new StringWriter();
        int code = withCapturedErrors(err).execute("pretrain", "--corpus", corpus.getAbsolutePath(), "--out", new File(dir, "out").getAbsolutePath(),
                "--set", "spark.default-master=local[1]");
        assertEquals(1, code);
        assertTrue(err.toString().contains("bad.jsonl, line 2, field 'text': missing"), err.toString());
    }

    @Test
    void unreadableAndEmptyCorporaAreClearErrors(@TempDir File dir) throws Exception {
        File empty = new File(dir, "empty.txt");
        Files.writeString(empty.toPath(), "\n\n");
        for (String[] c : new String[][]{{new File(dir, "missing.jsonl").getAbsolutePath(), "file not found"},
                {empty.getAbsolutePath(), "is empty: no documents found"}}) {
            StringWriter err = new StringWriter();
            assertEquals(1, withCapturedErrors(err).execute("pretrain", "--corpus", c[0], "--out", new File(dir, "o").getAbsolutePath(),
                    "--set", "spark.default-master=local[1]"));
            assertTrue(err.toString().contains(c[1]) && err.toString().contains(new File(c[0]).getName()), err.toString());
        }
    }

    @Test
    void corpusImportWithSkipBadRowsWritesGoodRowsAndASideFile(@TempDir File dir) throws Exception {
        org.rlsf.TestSpark.context();
        File in = new File(dir, "gsm.jsonl");
        Files.writeString(in.toPath(), "{\"question\":\"a\",\"answer\":\"#### 1\"}\n{\"question\":\"b\"}\n"
                + "{\"question\":\"c\",\"answer\":\"#### 2,000\"}\n");
        File out = new File(dir, "corpus");
        assertEquals(0, Main.execute("corpus", "--task", "gsm8k", "--input", in.getAbsolutePath(), "--out",
                out.getAbsolutePath(), "--skip-bad-rows"));
        assertTrue(Files.readString(new File(out, "_MANIFEST.json").toPath()).contains("\"rows\" : 2"));
        String bad = Files.readString(new File(out, "_bad_rows.jsonl").toPath());
        assertTrue(bad.contains("\"line\":2") && bad.contains("\"field\":\"answer\""), bad);
        String log = Files.readString(new File(out, "_logs/corpus.log").toPath());
        assertTrue(log.contains("wrote 2 rows to"), "row count printed");
        assertTrue(log.contains("1 malformed rows skipped"), "bad-row count printed");

        File strict = new File(dir, "strict");
        assertEquals(1, Main.execute("corpus", "--task", "gsm8k", "--input", in.getAbsolutePath(), "--out", strict.getAbsolutePath()));
        assertFalse(new File(strict, "_MANIFEST.json").exists(), "nothing written when a row is bad");
    }

    @Test
    void generatedCorpusHasTheRequestedRows(@TempDir File dir) throws Exception {
        org.rlsf.TestSpark.context();
        File out = new File(dir, "arith");
        assertEquals(0, Main.execute("corpus", "--task", "arith", "--n", "25", "--seed", "4", "--split", "heldout",
                "--out", out.getAbsolutePath()));
        assertTrue(Files.readString(new File(out, "_MANIFEST.json").toPath()).contains("\"rows\" : 25"));
        assertTrue(Files.readString(new File(out, "_logs/corpus.log").toPath()).contains("wrote 25 rows to"));
    }
}
