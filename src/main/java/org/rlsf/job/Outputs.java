package org.rlsf.job;

import org.apache.hadoop.fs.Path;
import org.rlsf.io.FileStore;
import org.rlsf.io.Json;
import org.rlsf.model.TextSampler;

import java.io.File;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Output conventions shared by the commands: where logs go, how completions are written. */
final class Outputs {

    private Outputs() {
    }

    /**
     * Where a command's full log goes: {@code <out>/_logs/} when the output is local (the underscore
     * keeps Spark from reading it as table data), else ./rlsf-logs/.
     */
    static File logFileFor(FileStore store, Path outDir, String command) {
        File local = store.localFile(outDir);
        if (local != null) {
            return new File(new File(local, "_logs"), command + ".log");
        }
        String ts = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        return new File("rlsf-logs", command + "-" + ts + ".log");
    }

    /** Completions as JSONL; {@code ids}, when not null, adds a {@code problem_id} per row. */
    static String completionsJsonl(List<TextSampler.Completion> completions, List<String> ids) {
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < completions.size(); i++) {
            TextSampler.Completion c = completions.get(i);
            Map<String, Object> row = new LinkedHashMap<>();
            if (ids != null) {
                row.put("problem_id", ids.get(i));
            }
            row.put("prompt", c.prompt());
            row.put("completion", c.completion());
            row.put("tokens", c.tokens());
            row.put("finish_reason", c.finish().name().toLowerCase());
            row.put("mean_log_prob", c.meanLogProb());
            jsonl.append(Json.line(row)).append('\n');
        }
        return jsonl.toString();
    }
}
