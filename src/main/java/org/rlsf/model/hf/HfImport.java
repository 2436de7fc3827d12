package org.rlsf.model.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.Path;
import org.rlsf.io.FileStore;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code hf:DIR}, accepted wherever a checkpoint is ({@code run.base-model}, {@code --model}): a Hugging Face model
 * directory on any Hadoop file system, imported with its tokenizer. A directory on a remote file system is first
 * copied to the local temporary directory (once per JVM), since the weights are memory-mapped.
 *
 * @param model     the imported weights and config
 * @param tokenizer its tokenizer (carrying the source's small files for export)
 * @param lineage   where it came from: the spec, the family, and the SHA-256 of every source file read
 */
public record HfImport(HfModel model, HfTokenizer tokenizer, Map<String, Object> lineage) {
    public static final String PREFIX = "hf:";
    /** The lineage key of the source files' SHA-256, by file name. */
    public static final String SOURCE_HASHES = "hf_source_sha256";
    private static final Map<String, java.nio.file.Path> LOCAL = new java.util.concurrent.ConcurrentHashMap<>();

    public static boolean isSpec(String spec) {
        return spec != null && spec.startsWith(PREFIX);
    }

    /** Imports {@code hf:DIR}. */
    public static HfImport load(FileStore store, String spec) {
        java.nio.file.Path dir = localDir(store, spec);
        HfModel m = HfModel.load(dir);
        HfTokenizer tokenizer = HfTokenizer.load(dir, m.config());
        Map<String, Object> lineage = new LinkedHashMap<>();
        lineage.put("source", spec);
        lineage.put("hf_model_type", m.config().family().modelType);
        lineage.put("hf_architecture", m.config().architecture());
        lineage.put(SOURCE_HASHES, new java.util.TreeMap<>(m.sourceSha256()));
        lineage.put("parameters", m.graph().numParams());
        return new HfImport(m, tokenizer, lineage);
    }

    /** SHA-256 of the source files of {@code hf:DIR} (config, index, weights), without importing the model. */
    public static Map<String, String> sourceHashes(FileStore store, String spec) {
        return HfModel.sourceHashes(localDir(store, spec));
    }

    /** The spec's directory as a local path: itself when local, else a copy of its model files in the temporary directory. */
    static java.nio.file.Path localDir(FileStore store, String spec) {
        if (!isSpec(spec)) {
            throw new IllegalArgumentException("not a Hugging Face model spec (hf:DIR): " + spec);
        }
        Path dir = FileStore.path(spec.substring(PREFIX.length()));
        java.io.File local = store.localFile(dir);
        if (local != null) {
            return local.toPath();
        }
        return LOCAL.computeIfAbsent(store.qualify(dir), uri -> copy(store, dir));
    }

    private static java.nio.file.Path copy(FileStore store, Path dir) {
        try {
            java.nio.file.Path tmp = Files.createTempDirectory("rlsf-hf-");
            List<String> wanted = new java.util.ArrayList<>(List.of(HfTokenizer.SOURCE_FILES));
            wanted.add(HfModel.WEIGHTS);
            wanted.add(HfModel.INDEX);
            for (String f : wanted) {
                copyIfPresent(store, new Path(dir, f), tmp.resolve(f));
            }
            java.nio.file.Path index = tmp.resolve(HfModel.INDEX);
            if (Files.isRegularFile(index)) {
                new ObjectMapper().readTree(index.toFile()).path("weight_map").elements().forEachRemaining(n -> {
                    if (!Files.exists(tmp.resolve(n.asText()))) {
                        copyIfPresent(store, new Path(dir, n.asText()), tmp.resolve(n.asText()));
                    }
                });
            }
            return tmp;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy " + dir + " to a local directory: " + e.getMessage(), e);
        }
    }

    private static void copyIfPresent(FileStore store, Path from, java.nio.file.Path to) {
        if (!store.exists(from)) {
            return;
        }
        try (InputStream in = store.open(from)) {
            Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy " + from + ": " + e.getMessage(), e);
        }
    }
}
