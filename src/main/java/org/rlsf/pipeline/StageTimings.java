package org.rlsf.pipeline;

import org.apache.hadoop.fs.Path;
import org.rlsf.io.FileStore;
import org.rlsf.io.Json;
import org.rlsf.io.RunLayout;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Wall time and memory of each step of the main job, written to {@code <run>/stages.json} after every step
 * (the bench reads it). Memory of this JVM, which on {@code local[*]} also runs the executors: the peak Java
 * heap during the step, and the process's peak resident set so far (Linux VmHWM: heap + ND4J's off-heap +
 * natives), which only grows. On a cluster these are the driver's; executors are in Spark's UI.
 */
final class StageTimings {
    private final FileStore store;
    private final Path file;
    private final List<Map<String, Object>> stages = new ArrayList<>();
    private String current;
    private long start;

    StageTimings(FileStore store, RunLayout layout) {
        this.store = store;
        this.file = layout.stages();
    }

    void begin(String stage) {
        end();
        current = stage;
        start = System.nanoTime();
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.isValid()) {
                pool.resetPeakUsage();
            }
        }
    }

    /** Ends the current step (if any) and rewrites stages.json. */
    void end() {
        if (current == null) {
            return;
        }
        long heapPeak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.isValid() && pool.getPeakUsage() != null) {
                heapPeak += pool.getPeakUsage().getUsed();
            }
        }
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("stage", current);
        row.put("wall_s", Math.round((System.nanoTime() - start) / 1e7) / 100.0);
        row.put("heap_peak_mb", heapPeak >> 20);
        row.put("rss_peak_mb", residentPeakMb());
        stages.add(row);
        current = null;
        store.writeText(file, Json.write(stages));
    }

    List<String> table() {
        List<String> lines = new ArrayList<>();
        lines.add(String.format("%-28s %9s %12s %12s", "step", "wall s", "heap peak MB", "RSS peak MB"));
        for (Map<String, Object> r : stages) {
            lines.add(String.format("%-28s %9.1f %12d %12d", r.get("stage"), (Double) r.get("wall_s"),
                    (Long) r.get("heap_peak_mb"), (Long) r.get("rss_peak_mb")));
        }
        return lines;
    }

    /** Linux VmHWM in MB; -1 where /proc is not there. */
    static long residentPeakMb() {
        try {
            for (String line : Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) >> 10;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
