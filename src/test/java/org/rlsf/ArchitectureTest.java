package org.rlsf;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keeps the layering honest. Third-party libraries: stage logic in plain Java; Spark only where data moves (io,
 * pipeline, job, and the Spark trainers in train); DL4J/ND4J only in model and train. Directions between our own
 * packages: nothing imports job or pipeline except the layer above it, io reads and writes records of the plain
 * layers and nothing else of ours, and a walk down the data flow never returns to a room it left.
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
            Map.entry("ppo", List.of(SPARK, DL4J)),
            Map.entry("evaluate", List.of(SPARK, DL4J)),
            Map.entry("report", List.of(SPARK, DL4J)),
            Map.entry("model", List.of(SPARK)),
            Map.entry("io", List.of(DL4J)),
            Map.entry("pipeline", List.of(DL4J)),
            Map.entry("job", List.of(DL4J)),
            Map.entry("train", List.of()));
    /** The files of train that drive Spark (dl4j-spark's training master); the rest of train is plain DL4J. */
    private static final Set<String> SPARK_TRAINERS = Set.of("SparkPretrainer.java", "PairTrainer.java", "PpoTrainer.java",
            "PretrainStage.java", "IterationCarryOver.java", "OrderedAveraging.java");
    /** Which of our packages each package may import (besides itself). */
    private static final Map<String, Set<String>> MAY_IMPORT = Map.ofEntries(
            Map.entry("config", Set.of()),
            Map.entry("tasks", Set.of("config")),
            Map.entry("corpus", Set.of("config", "tasks")),
            Map.entry("score", Set.of("config", "tasks")),
            Map.entry("pairs", Set.of("config", "tasks", "score")),
            Map.entry("evaluate", Set.of("config", "tasks", "score")),
            Map.entry("ppo", Set.of("config")),
            // io stores the records of the plain layers, and nothing else of ours
            Map.entry("io", Set.of("config", "tasks", "score", "pairs", "evaluate")),
            Map.entry("model", Set.of("config", "io")),
            Map.entry("generate", Set.of("config", "tasks", "score", "model")),
            Map.entry("report", Set.of("config", "io")),
            Map.entry("train", Set.of("config", "tasks", "corpus", "pairs", "ppo", "model", "generate", "io", "report")),
            Map.entry("pipeline", Set.of("config", "tasks", "corpus", "score", "pairs", "ppo", "evaluate", "io", "model", "generate",
                    "train", "report")),
            Map.entry("job", Set.of("config", "tasks", "corpus", "score", "pairs", "ppo", "evaluate", "io", "model", "generate",
                    "train", "report", "pipeline")));

    @Test
    void packagesImportOnlyWhatTheirLayerAllows() throws IOException {
        List<String> violations = new ArrayList<>();
        int files = 0;
        for (Path p : sources()) {
            files++;
            String pkg = MAIN.relativize(p).getName(0).toString();
            List<List<String>> rules = FORBIDDEN.get(pkg);
            if (rules == null) {
                if (!p.getParent().equals(MAIN)) {
                    violations.add(p + ": package '" + pkg + "' has no layering rule; add one here");
                }
                continue;
            }
            boolean sparkTrainer = pkg.equals("train") && SPARK_TRAINERS.contains(p.getFileName().toString());
            for (String line : Files.readAllLines(p)) {
                for (List<String> rule : rules) {
                    for (String prefix : rule) {
                        if (line.startsWith(prefix)) {
                            violations.add(p + ": " + line);
                        }
                    }
                }
                if (pkg.equals("train") && !sparkTrainer && SPARK.stream().anyMatch(line::startsWith)) {
                    violations.add(p + ": Spark outside the Spark trainers: " + line);
                }
            }
        }
        assertTrue(files > 20, "scanned " + files + " files; is the working directory the project root?");
        assertEquals(List.of(), violations);
    }

    @Test
    void ourPackagesImportEachOtherOnlyDownTheDataFlow() throws IOException {
        List<String> violations = new ArrayList<>();
        for (Path p : sources()) {
            String pkg = MAIN.relativize(p).getName(0).toString();
            Set<String> allowed = MAY_IMPORT.get(pkg);
            if (allowed == null) {
                violations.add(p + ": package '" + pkg + "' has no direction rule; add one here");
                continue;
            }
            for (String line : Files.readAllLines(p)) {
                for (String target : new java.util.LinkedHashSet<>(referencedPackages(line))) {
                    if (!target.equals(pkg) && !allowed.contains(target)) {
                        violations.add(p + " (" + pkg + " -> " + target + "): " + line.trim());
                    }
                }
            }
        }
        assertEquals(List.of(), violations);
    }

    @Test
    void theDirectionRuleSeesImportsAndQualifiedNames() {
        assertEquals(List.of("pipeline"), referencedPackages("import org.rlsf.pipeline.GenerateStage;"));
        assertEquals(List.of("io"), referencedPackages("        x = org.rlsf.io.RunLayout.MANIFEST;"));
        assertEquals(List.of(), referencedPackages(" * see org.rlsf.job in the docs"), "comments are not imports");
    }

    /** Our packages a line refers to: imports and fully qualified names in code (not in comments). */
    private static List<String> referencedPackages(String line) {
        String code = line.trim();
        if (code.startsWith("*") || code.startsWith("//") || code.startsWith("/*")) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        var m = java.util.regex.Pattern.compile("org\\.rlsf\\.([a-z]+)\\.[A-Za-z]").matcher(code);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    private static List<Path> sources() throws IOException {
        try (Stream<Path> paths = Files.walk(MAIN)) {
            return paths.filter(f -> f.toString().endsWith(".java")).toList();
        }
    }
}
