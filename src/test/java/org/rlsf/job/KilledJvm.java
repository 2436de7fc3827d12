package org.rlsf.job;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An rlsf command in its own JVM (this test JVM's options and classpath), killed with SIGKILL when a condition holds. */
final class KilledJvm {
    private KilledJvm() {
    }

    /** Starts {@code rlsf args...}, waits until {@code ready} (at most 3 minutes), then SIGKILLs it. */
    static void runUntil(List<String> args, File log, BooleanSupplier ready) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(new File(System.getProperty("java.home"), "bin/java").getPath()));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-agentlib") && !a.startsWith("-javaagent")).toList());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log).start();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        boolean hit = false;
        while (p.isAlive() && System.nanoTime() < deadline && !(hit = ready.getAsBoolean())) {
            Thread.sleep(10);
        }
        assertTrue(p.isAlive(), () -> "the JVM ended before it could be killed (" + p.exitValue() + "):\n" + tail(log));
        assertTrue(hit, () -> "the kill condition never held:\n" + tail(log));
        p.destroyForcibly();   // SIGKILL: no shutdown hook, no cleanup
        assertTrue(p.waitFor(1, TimeUnit.MINUTES));
        assertEquals(137, p.exitValue(), "killed by SIGKILL");
    }

    static String tail(File log) {
        try {
            List<String> lines = Files.readAllLines(log.toPath());
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (java.io.IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
