package org.rlsf.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.io.RunLayout;
import org.rlsf.job.Main;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Run ids: one rule in the CLI, run directories and table partitions (the DAGs apply the same, check_dags.py). */
class RunIdsTest {
    static final List<String> BAD = List.of("../x", "a/b", "a#b", "\"", "", ".hidden", "a b", "x\"}, \"spec\": {", "é",
            "a".repeat(129));

    @Test
    void theRuleAcceptsOrdinaryIdsAndRefusesTheRest() {
        for (String ok : List.of("rlsf-20260101", "a.b_c-1", "R1", "_x", "a".repeat(128))) {
            assertEquals(ok, RunIds.check(ok));
        }
        for (String bad : BAD) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunIds.check(bad), bad);
            assertTrue(e.getMessage().contains("invalid run id") && e.getMessage().contains(RunIds.RULE), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> RunIds.check(null));
        assertThrows(IllegalArgumentException.class, () -> RunLayout.of("runs", "../x"), "a run directory cannot leave runs/");
        assertThrows(IllegalArgumentException.class, () -> RunLayout.runPartition(new org.apache.hadoop.fs.Path("t"), "a#b"));
    }

    @Test
    void everyCommandRefusesABadIdBeforeDoingAnything(@TempDir Path tmp) throws Exception {
        for (String bad : List.of("../x", "a/b", "a#b", "\"", "")) {
            Path out = tmp.resolve("out");
            String[][] commands = {
                    {"generate", "--model", "builtin:base", "--corpus", tmp.resolve("c").toString(), "--out", out.toString(), "--run-id", bad},
                    {"pairs", "--traces", tmp.resolve("t").toString(), "--out", out.toString(), "--run-id", bad},
                    {"train", "--model", "builtin:base", "--pairs", tmp.resolve("p").toString(), "--out", out.toString(), "--run-id", bad},
                    {"reward-model", "--model", "builtin:base", "--pairs", tmp.resolve("p").toString(), "--out", out.toString(), "--run-id", bad},
                    {"run", "--out", tmp.resolve("runs").toString(), "--run-id", bad}};
            for (String[] c : commands) {
                assertNotEquals(0, Main.execute(c), String.join(" ", c));
                assertFalse(Files.exists(out) || Files.exists(tmp.resolve("runs")), "nothing written: " + String.join(" ", c));
            }
        }
    }
}
