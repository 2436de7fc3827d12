package org.rlsf.job;

import org.rlsf.config.CodeVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The single entry point: {@code rlsf <subcommand>}. */
@Command(name = "rlsf", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Post-train language models with Reinforcement Learning from Self-Feedback, on Spark + DL4J.",
        subcommands = {RunCommand.class, CorpusCommand.class, CheckpointCommand.class, ExportCommand.class, PretrainCommand.class, GenerateCommand.class, PairsCommand.class, TrainCommand.class, RewardModelCommand.class, PpoCommand.class, EvaluateCommand.class, ReportCommand.class, SampleCommand.class,
                GradeCommand.class,
                BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs a command line and returns its exit code (0 ok, 1 failed, 2 bad usage). */
    public static int execute(String... args) {
        org.rlsf.config.NativeVariant.select();   // before anything loads ND4J
        Console.installStdoutFilter();
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            Throwable root = innermost(e);
            if (root instanceof IllegalArgumentException || root instanceof java.io.UncheckedIOException
                    || root instanceof java.io.IOException || root instanceof IllegalStateException) {
                LOG.debug("command failed", e);     // a user-facing error: the message says it all
            } else {
                LOG.error("unexpected failure (a bug: please report it with this trace)", e);
            }
            cmd.getErr().println("error: " + describe(e));
            if (Console.logFile() != null) {
                cmd.getErr().println("(full log: " + Console.logFile() + ")");
            }
            return 1;
        });
        return cli.execute(args);
    }

    /** The innermost useful message, e.g. the file/line/field of a malformed corpus row. */
    static String describe(Throwable e) {
        Throwable t = innermost(e);
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    private static Throwable innermost(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && (t.getMessage() == null || t instanceof org.apache.spark.SparkException)) {
            t = t.getCause();
        }
        return t;
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"rlsf " + CodeVersion.get()};
        }
    }
}
