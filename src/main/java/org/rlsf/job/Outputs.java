package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.io.FileStore;

import java.io.File;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/** Where a command's full log goes: {@code <out>/_logs/} when the output is local (the underscore keeps
 * Spark from reading it as table data), else ./rlsf-logs/. */
final class Outputs {
    private Outputs() {
    }

    static File logFileFor(FileStore store, Path outDir, String command) {
        File local = store.localFile(outDir);
        if (local != null) {
            return new File(new File(local, "_logs"), command + ".log");
        }
        String ts = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        return new File("rlsf-logs", command + "-" + ts + ".log");
    }
}
