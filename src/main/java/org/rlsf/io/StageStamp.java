package org.rlsf.io;

import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a finished stage command leaves beside its output, so a rerun of the same command with the same settings over
 * the same inputs does no work (a scheduler's retry, or the Airflow DAG run twice): the command line, the resolved
 * configuration's hash, and a fingerprint of every input. Written last, after the stage's own output is complete; an
 * interrupted stage has none and redoes (or resumes) its work. A different command line, configuration or input
 * (anything rewritten there since) means the stamp does not match and the stage runs again.
 *
 * <p>An input's fingerprint is the sha256 of its file listing (relative path, length, modification time), without
 * logs ({@code _logs/}), hidden files (checksums) and other stages' stamps: it changes when anything in it is rewritten,
 * without reading any data.
 *
 * @param command    the rlsf command
 * @param args       its command line as given
 * @param configHash the resolved configuration's hash ("" for commands without one)
 * @param inputs     each input's qualified path → its fingerprint
 * @param outputs    each output's qualified path → its fingerprint when the stage finished (an output deleted or
 *                   rewritten since, such as a removed shard, makes the stage run again)
 */
public record StageStamp(String command, List<String> args, String configHash, Map<String, String> inputs,
                         Map<String, String> outputs) {
    /** Stamp files start with this (Spark and Parquet readers skip files starting with '_'). */
    public static final String PREFIX = "_STAGE-";

    public StageStamp {
        args = List.copyOf(args);
        inputs = new LinkedHashMap<>(inputs);
        outputs = outputs == null ? Map.of() : new LinkedHashMap<>(outputs);
    }

    public static StageStamp of(FileStore store, String command, List<String> args, String configHash, List<Path> inputs,
                                List<Path> outputs) {
        return new StageStamp(command, args, configHash == null ? "" : configHash, prints(store, inputs), prints(store, outputs));
    }

    private static Map<String, String> prints(FileStore store, List<Path> paths) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Path p : paths) {
            out.put(store.qualify(p), fingerprint(store, p));
        }
        return out;
    }

    /** The stamp file of {@code command} in {@code out}; {@code key} tells runs sharing one table apart (or null). */
    public static Path file(Path out, String command, String key) {
        return new Path(out, PREFIX + command + (key == null ? "" : "-" + key) + ".json");
    }

    /** Whether {@code stampFile} holds this very stamp (same command line, configuration and inputs). */
    public boolean matches(FileStore store, Path stampFile) {
        return difference(store, stampFile) == null;
    }

    /** Why {@code stampFile} does not match this stamp (no stamp, another command line, settings, an input), or null. */
    public String difference(FileStore store, Path stampFile) {
        if (!store.exists(stampFile)) {
            return "not done before";
        }
        StageStamp done;
        try {
            done = Json.read(store.readText(stampFile), StageStamp.class, stampFile);
        } catch (IllegalArgumentException | UncheckedIOException e) {   // not JSON, or a checksum error
            return "its stamp is unreadable";
        }
        if (!done.command.equals(command) || !done.args.equals(args)) {
            return "the command line differs from " + done.args;
        }
        if (!done.configHash.equals(configHash)) {
            return "the settings differ (config hash " + done.configHash + ", now " + configHash + ")";
        }
        for (Map.Entry<String, String> e : inputs.entrySet()) {
            if (!e.getValue().equals(done.inputs.get(e.getKey()))) {
                return "input " + e.getKey() + " changed since";
            }
        }
        if (!done.inputs.keySet().equals(inputs.keySet())) {
            return "its inputs differ";
        }
        for (Map.Entry<String, String> e : outputs.entrySet()) {
            if (!e.getValue().equals(done.outputs.get(e.getKey()))) {
                return "output " + e.getKey() + " changed since it was finished";
            }
        }
        return null;
    }

    public void write(FileStore store, Path stampFile) {
        store.writeText(stampFile, Json.write(this));
    }

    /** "missing" for an absent path; else the sha256 of its listing (see the class comment). */
    static String fingerprint(FileStore store, Path p) {
        if (!store.exists(p)) {
            return "missing";
        }
        try {
            FileSystem fs = store.fs(p);
            Path root = fs.getFileStatus(p).getPath();
            String rootText = root.toUri().getPath();
            List<String> lines = new ArrayList<>();
            RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
            while (it.hasNext()) {
                LocatedFileStatus f = it.next();
                String rel = f.getPath().toUri().getPath().substring(Math.min(rootText.length(), f.getPath().toUri().getPath().length()));
                if (ignored(rel)) {
                    continue;
                }
                lines.add(rel + "\t" + f.getLen() + "\t" + f.getModificationTime());
            }
            lines.sort(null);
            return FileStore.sha256(new ByteArrayInputStream(String.join("\n", lines).getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + p, e);
        }
    }

    private static boolean ignored(String rel) {
        for (String part : rel.split("/")) {
            if (part.equals("_logs") || part.startsWith(".") || part.startsWith(PREFIX)) {
                return true;
            }
        }
        return false;
    }
}
