package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.io.FileStore;

import java.io.File;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/** Where a command's full log goes: inside its output directory when that is local, else ./rlsf-logs/. */
final class Outputs {
    private Outputs() {
    }

    static File logFileFor(FileStore store, Path outDir, String command) {
        File local = store.localFile(outDir);
        if (local != null) {
            return new File(new File(local, "logs"), command + ".log");
        }
        String ts = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        return new File("rlsf-logs", command + "-" + ts + ".log");
    }
}
