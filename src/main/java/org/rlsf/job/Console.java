package org.rlsf.job;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;

import java.io.File;
import java.io.PrintStream;

/**
 * Keeps the console for our progress, results and warnings: full logs (Spark, DL4J, ours) go to a
 * file chosen per command, and DL4J's stdout spam ("Added differentiated op …", printed with
 * System.out.println by SameDiff thousands of times) is dropped.
 */
public final class Console {
    static final String NOISE_PREFIX = "Added differentiated op";
    private static volatile File logFile;

    private Console() {
    }

    /** Installs the stdout filter; idempotent. */
    public static void installStdoutFilter() {
        if (!(System.out instanceof FilteringStream)) {
            System.setOut(new FilteringStream(System.out));
        }
    }

    /** Sends the full log to {@code file} from now on. */
    public static void logTo(File file) {
        file.getParentFile().mkdirs();
        logFile = file;
        System.setProperty("rlsf.log.file", file.getAbsolutePath());
        ((LoggerContext) LogManager.getContext(false)).reconfigure();
    }

    public static File logFile() {
        return logFile;
    }

    /** Drops SameDiff's per-op println lines; everything else passes through. */
    static final class FilteringStream extends PrintStream {
        FilteringStream(PrintStream target) {
            super(target, true);
        }

        @Override
        public void println(String x) {
            if (x != null && x.startsWith(NOISE_PREFIX)) {
                return;
            }
            super.println(x);
        }
    }
}
