package org.rlsf;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keeps the layering honest: stage logic in plain Java; Spark only where data moves (io, job, and
 * the Spark trainer); DL4J/ND4J only in model and train.
 */
class ArchitectureTest {
    private static final Path MAIN = Path.of("src/main/java/org/rlsf");
    private static final List<String> SPARK = List.of("import org.apache.spark.", "import org.deeplearning4j.spark.");
    private static final List<String> DL4J = List.of("import org.deeplearning4j.", "import org.nd4j.");
    private static final Map<String, List<List<String>>> FORBIDDEN = Map.ofEntries(
            Map.entry("config", List.of(SPARK, DL4J)),
            Map.entry("corpus", List.of(SPARK, DL4J)),
            Map.entry("tasks", List.of(SPARK, DL4J)),
            Map.entry("score", List.of(SPARK, DL4J)),
            Map.entry("generate", List.of(SPARK, DL4J)),
            Map.entry("pairs", List.of(SPARK, DL4J)),
            Map.entry("evaluate", List.of(SPARK, DL4J)),
            Map.entry("report", List.of(SPARK, DL4J)),
            Map.entry("model", List.of(SPARK)),
            Map.entry("io", List.of(DL4J)),
            Map.entry("job", List.of(DL4J)),
            Map.entry("train", List.of()));

    @Test
    void packagesImportOnlyWhatTheirLayerAllows() throws IOException {
        List<String> violations = new ArrayList<>();
        int files = 0;
        try (Stream<Path> paths = Files.walk(MAIN)) {
            for (Path p : paths.filter(f -> f.toString().endsWith(".java")).toList()) {
                files++;
                String pkg = MAIN.relativize(p).getName(0).toString();
                List<List<String>> rules = FORBIDDEN.get(pkg);
                if (rules == null) {
                    if (!p.getParent().equals(MAIN)) {
                        violations.add(p + ": package '" + pkg + "' has no layering rule; add one here");
                    }
                    continue;
                }
                for (String line : Files.readAllLines(p)) {
                    for (List<String> rule : rules) {
                        for (String prefix : rule) {
                            if (line.startsWith(prefix)) {
                                violations.add(p + ": " + line);
                            }
                        }
                    }
                }
            }
        }
        assertTrue(files > 20, "scanned " + files + " files; is the working directory the project root?");
        assertEquals(List.of(), violations);
    }
}
