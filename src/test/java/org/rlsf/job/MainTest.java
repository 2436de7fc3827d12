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
        CommandLine cli = new CommandLine(new Main());
        cli.setErr(new PrintWriter(err));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("error: " + Main.describe(e));
            return 1;
        });
        int code = cli.execute("pretrain", "--corpus", corpus.getAbsolutePath(), "--out", new File(dir, "out").getAbsolutePath(),
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
            CommandLine cli = new CommandLine(new Main());
            cli.setErr(new PrintWriter(err));
            cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
                cmd.getErr().println("error: " + Main.describe(e));
                return 1;
            });
            assertEquals(1, cli.execute("pretrain", "--corpus", c[0], "--out", new File(dir, "o").getAbsolutePath(),
                    "--set", "spark.default-master=local[1]"));
            assertTrue(err.toString().contains(c[1]) && err.toString().contains(new File(c[0]).getName()), err.toString());
        }
    }
}
