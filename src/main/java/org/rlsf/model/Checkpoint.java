package org.rlsf.model;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rlsf.config.ModelConfig;
import org.rlsf.io.FileStore;
import org.rlsf.model.hf.HfImport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model checkpoint: one directory holding
 * <ul>
 *   <li>{@code model.zip}: the DL4J graph (with updater state, so training can resume),</li>
 *   <li>{@code tokenizer.json}, {@code model.json} (the {@link ModelConfig}), {@code lineage.json}
 *       (corpus, steps, seed, code version, config hash, …),</li>
 *   <li>{@code checkpoint.json}, written last: format version, the SHA-256 of every file and the
 *       SHA-256 of the weights (float32 little-endian of the flattened parameters).</li>
 * </ul>
 * Writing goes to a staging directory that is renamed into place, so a crash never leaves a
 * half-written checkpoint at the target path. Loading verifies every hash.
 *
 * @param graph         the network (training graph; its sequence length is whatever it was saved with)
 * @param tokenizer     the tokenizer the model was trained with
 * @param model         model shapes
 * @param lineage       free-form provenance written by the producer
 * @param weightsSha256 hash of the weights, hex
 */
public record Checkpoint(ComputationGraph graph, Tokenizer tokenizer, ModelConfig model, Map<String, Object> lineage,
                         String weightsSha256) {
    public static final int FORMAT_VERSION = 1;
    /** Written last: a directory with it holds a complete checkpoint. */
    public static final String MANIFEST = org.rlsf.io.RunLayout.CHECKPOINT_MANIFEST;
    /** A LoRA policy's PEFT adapter directory inside its checkpoint ({@link #extraFiles}). */
    public static final String ADAPTER_DIR = "adapter";
    static final String MODEL = "model.zip", TOKENIZER = "tokenizer.json", CONFIG = "model.json", LINEAGE = "lineage.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** A decoder over this checkpoint's weights, with the backend's default decoding steps. */
    public KvCacheDecoder decoder() {
        return decoder(null);
    }

    /** A decoder over this checkpoint's weights; {@code attention} null for the backend's default. */
    public KvCacheDecoder decoder(KvCacheDecoder.Attention attention) {
        return new KvCacheDecoder(model, TransformerWeights.of(graph, model), attention);
    }

    /** Writes atomically to {@code dir} (replacing an existing checkpoint there); returns the weights hash. */
    public static String save(FileStore store, Path dir, ComputationGraph graph, Tokenizer tokenizer,
                              ModelConfig model, Map<String, Object> lineage) {
        return save(store, dir, graph, tokenizer, model, lineage, true);
    }

    /** As above; {@code withUpdater = false} leaves the optimiser state out (a third of the size: shipped models). */
    public static String save(FileStore store, Path dir, ComputationGraph graph, Tokenizer tokenizer,
                              ModelConfig model, Map<String, Object> lineage, boolean withUpdater) {
        return save(store, dir, graph, tokenizer, model, lineage, withUpdater, Map.of());
    }

    /**
     * As above, with {@code extras}: further files by relative path (a LoRA policy's {@code adapter/}), hashed in the
     * manifest and verified on load like the rest ({@link #extraFiles} reads them).
     */
    public static String save(FileStore store, Path dir, ComputationGraph graph, Tokenizer tokenizer,
                              ModelConfig model, Map<String, Object> lineage, boolean withUpdater,
                              Map<String, byte[]> extras) {
        Path staging = store.stagingFor(dir);
        try {
            Map<String, String> fileHashes = new LinkedHashMap<>();
            // the model streams to its file, hashed on the way (a byte[] copy cannot exceed 2 GB, and doubles the memory)
            MessageDigest zipDigest = sha256Digest();
            try (var out = new java.security.DigestOutputStream(
                    new java.io.BufferedOutputStream(store.create(new Path(staging, MODEL)), 1 << 20), zipDigest)) {
                ModelSerializer.writeModel(graph, out, withUpdater);
            }
            fileHashes.put(MODEL, HexFormat.of().formatHex(zipDigest.digest()));
            Map<String, byte[]> files = new LinkedHashMap<>();
            files.put(TOKENIZER, tokenizer.toJson().getBytes(StandardCharsets.UTF_8));
            files.put(CONFIG, JSON.writeValueAsBytes(model));
            files.put(LINEAGE, JSON.writeValueAsBytes(lineage));
            files.putAll(extras);
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                try (var out = store.create(new Path(staging, f.getKey()))) {
                    out.write(f.getValue());
                }
                fileHashes.put(f.getKey(), sha256(f.getValue()));
            }
            String weights = weightsSha256(graph.params());
            Map<String, Object> manifest = new LinkedHashMap<>();
            manifest.put("format_version", FORMAT_VERSION);
            manifest.put("weights_sha256", weights);
            manifest.put("files", fileHashes);
            store.writeText(new Path(staging, MANIFEST), JSON.writeValueAsString(manifest));
            store.commit(staging, dir);
            return weights;
        } catch (IOException e) {
            store.delete(staging);
            throw new UncheckedIOException("cannot write checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Loads and verifies a checkpoint. {@code dir} may also be a training output directory that holds
     * a {@code checkpoint/} subdirectory.
     *
     * @throws IllegalArgumentException naming the directory and file when anything is missing or corrupted
     */
    public static Checkpoint load(FileStore store, Path dir) {
        store.recover(dir);   // a replacing save killed between its two renames left the previous checkpoint beside it
        dir = checkpointDir(store, dir);
        Path manifestPath = new Path(dir, MANIFEST);
        if (!store.exists(manifestPath)) {
            throw new IllegalArgumentException("not a checkpoint: " + dir + " has no " + MANIFEST
                    + (store.exists(dir) ? " (incomplete or not written by rlsf)" : " (directory does not exist)"));
        }
        try {
            Map<String, Object> manifest = readManifest(store, dir);
            Map<String, String> hashes = fileHashes(manifest);
            Map<String, byte[]> files = new LinkedHashMap<>();
            for (String name : new String[]{MODEL, TOKENIZER, CONFIG, LINEAGE}) {
                Path p = new Path(dir, name);
                if (!store.exists(p)) {
                    throw new IllegalArgumentException("checkpoint " + dir + " is missing " + name);
                }
                String actual;
                try {
                    if (MODEL.equals(name)) {   // streamed: hashed here, read again below by DL4J
                        actual = FileStore.sha256(store.open(p));
                    } else {
                        byte[] bytes = store.readBytes(p);
                        files.put(name, bytes);
                        actual = sha256(bytes);
                    }
                } catch (UncheckedIOException e) {   // e.g. Hadoop's own checksum caught the damage first
                    throw new IllegalArgumentException("checkpoint " + dir + ": " + name + " is corrupted ("
                            + e.getCause().getMessage() + ")", e);
                }
                if (!actual.equals(hashes.get(name))) {
                    throw new IllegalArgumentException("checkpoint " + dir + ": " + name + " is corrupted (sha256 "
                            + actual + ", expected " + hashes.get(name) + ")");
                }
            }
            for (Map.Entry<String, String> extra : hashes.entrySet()) {   // further files (an adapter): present and intact
                if (!files.containsKey(extra.getKey()) && !MODEL.equals(extra.getKey())) {
                    verifiedExtra(store, dir, extra.getKey(), extra.getValue());
                }
            }
            ComputationGraph graph;
            try (var in = new java.io.BufferedInputStream(store.open(new Path(dir, MODEL)), 1 << 20)) {
                graph = ModelSerializer.restoreComputationGraph(in, true);
            } catch (Exception e) {
                throw new IllegalArgumentException("checkpoint " + dir + ": " + MODEL + " cannot be read as a DL4J model: " + e.getMessage(), e);
            }
            String weights = weightsSha256(graph.params());
            if (!weights.equals(manifest.get("weights_sha256"))) {
                throw new IllegalArgumentException("checkpoint " + dir + ": weights hash " + weights
                        + " does not match the recorded " + manifest.get("weights_sha256"));
            }
            Tokenizer tokenizer = Tokenizer.fromJson(new String(files.get(TOKENIZER), StandardCharsets.UTF_8));
            ModelConfig model = JSON.readValue(files.get(CONFIG), ModelConfig.class);
            Map<String, Object> lineage = JSON.readValue(files.get(LINEAGE), new TypeReference<>() { });
            if (model.vocabSize() != tokenizer.vocabSize()) {
                throw new IllegalArgumentException("checkpoint " + dir + ": model vocab " + model.vocabSize()
                        + " != tokenizer vocab " + tokenizer.vocabSize());
            }
            return new Checkpoint(graph, tokenizer, model, lineage, weights);
        } catch (IOException e) {
            throw new IllegalArgumentException("checkpoint " + dir + " is unreadable: " + e.getMessage(), e);
        }
    }

    /**
     * Copies checkpoint {@code from} to {@code to} with its lineage replaced by {@code lineage} applied to it: the
     * files byte for byte, each verified against the source's manifest on the way (the model's bytes streamed), and a
     * manifest of the same format, weights hash and file hashes but the new lineage's. The model is not restored and
     * saved again (as {@code load} then {@code save} would: the same bytes, ~0.4 s at the shipped size). Returns the
     * weights hash.
     *
     * @throws IllegalArgumentException naming the file when the source is missing a file or one is corrupted
     */
    public static String copy(FileStore store, Path from, Path to,
                              java.util.function.UnaryOperator<Map<String, Object>> lineage) {
        store.recover(from);
        Path src = checkpointDir(store, from);
        Path staging = store.stagingFor(to);
        try {
            Map<String, Object> manifest = readManifest(store, src);
            Map<String, String> out = new LinkedHashMap<>();
            for (Map.Entry<String, String> f : fileHashes(manifest).entrySet()) {
                String name = f.getKey();
                Path p = new Path(src, name);
                if (!store.exists(p)) {
                    throw new IllegalArgumentException("checkpoint " + src + " is missing " + name);
                }
                if (LINEAGE.equals(name)) {
                    byte[] bytes = verifiedExtra(store, src, name, f.getValue());
                    Map<String, Object> edited = lineage.apply(JSON.readValue(bytes, new TypeReference<>() { }));
                    byte[] written = JSON.writeValueAsBytes(edited);
                    try (var o = store.create(new Path(staging, name))) {
                        o.write(written);
                    }
                    out.put(name, sha256(written));
                    continue;
                }
                MessageDigest digest = sha256Digest();
                try (var in = store.open(p); var o = store.create(new Path(staging, name))) {
                    byte[] block = new byte[1 << 20];
                    for (int n; (n = read(in, block, src, name)) > 0; ) {   // a read error is the source's damage
                        digest.update(block, 0, n);
                        o.write(block, 0, n);
                    }
                }
                String actual = HexFormat.of().formatHex(digest.digest());
                if (!actual.equals(f.getValue())) {
                    throw new IllegalArgumentException("checkpoint " + src + ": " + name + " is corrupted (sha256 "
                            + actual + ", expected " + f.getValue() + ")");
                }
                out.put(name, actual);
            }
            Map<String, Object> copied = new LinkedHashMap<>(manifest);
            copied.put("files", out);
            store.writeText(new Path(staging, MANIFEST), JSON.writeValueAsString(copied));
            store.commit(staging, to);
            return String.valueOf(manifest.get("weights_sha256"));
        } catch (IOException e) {
            store.delete(staging);
            throw new UncheckedIOException("cannot copy checkpoint " + src + " to " + to + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            store.delete(staging);
            throw e;
        }
    }

    /** The manifest of checkpoint {@code dir}, checked: a format this build reads, its file hashes and weights hash. */
    private static Map<String, Object> readManifest(FileStore store, Path dir) throws IOException {
        Map<String, Object> manifest = JSON.readValue(store.readText(new Path(dir, MANIFEST)), new TypeReference<>() { });
        Object version = manifest.get("format_version");
        if (!(version instanceof Integer v) || v > FORMAT_VERSION) {
            throw new IllegalArgumentException("checkpoint " + dir + " has format_version " + version
                    + "; this build reads up to " + FORMAT_VERSION);
        }
        if (!(manifest.get("files") instanceof Map<?, ?>) || manifest.get("weights_sha256") == null) {
            throw new IllegalArgumentException("checkpoint " + dir + ": " + MANIFEST + " lacks its \"files\" hashes or "
                    + "\"weights_sha256\" (not written by rlsf, or edited)");
        }
        return manifest;
    }

    /** A manifest's file hashes by relative path ({@link #readManifest} checked they are there). */
    @SuppressWarnings("unchecked")
    private static Map<String, String> fileHashes(Map<String, Object> manifest) {
        return (Map<String, String>) manifest.get("files");
    }

    /** {@code in.read(block)}, its failure reported as damage to checkpoint file {@code name} in {@code dir}. */
    private static int read(java.io.InputStream in, byte[] block, Path dir, String name) {
        try {
            return in.read(block);
        } catch (IOException | UncheckedIOException e) {   // e.g. Hadoop's own checksum caught the damage first
            throw new IllegalArgumentException("checkpoint " + dir + ": " + name + " is corrupted (" + e.getMessage() + ")", e);
        }
    }

    /** Every further file of a checkpoint ({@link #save} {@code extras}), verified; empty when it has none. */
    public static Map<String, byte[]> extraFiles(FileStore store, Path dir) {
        Path d = checkpointDir(store, dir);
        try {
            Map<String, Object> manifest = JSON.readValue(store.readText(new Path(d, MANIFEST)), new TypeReference<>() { });
            Map<String, byte[]> out = new LinkedHashMap<>();
            if (manifest.get("files") instanceof Map<?, ?> m) {
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    String name = e.getKey().toString();
                    if (!java.util.Set.of(MODEL, TOKENIZER, CONFIG, LINEAGE).contains(name)) {
                        out.put(name, verifiedExtra(store, d, name, String.valueOf(e.getValue())));
                    }
                }
            }
            return out;
        } catch (IOException e) {
            throw new IllegalArgumentException("checkpoint " + d + " is unreadable: " + e.getMessage(), e);
        }
    }

    private static byte[] verifiedExtra(FileStore store, Path dir, String name, String expected) {
        Path p = new Path(dir, name);
        if (!store.exists(p)) {
            throw new IllegalArgumentException("checkpoint " + dir + " is missing " + name);
        }
        byte[] bytes = store.readBytes(p);
        String actual = sha256(bytes);
        if (!actual.equals(expected)) {
            throw new IllegalArgumentException("checkpoint " + dir + ": " + name + " is corrupted (sha256 " + actual
                    + ", expected " + expected + ")");
        }
        return bytes;
    }

    /** {@code dir}, or its {@code checkpoint/} subdirectory when {@code dir} is a training output that holds one. */
    private static Path checkpointDir(FileStore store, Path dir) {
        if (!store.exists(new Path(dir, MANIFEST)) && store.exists(new Path(new Path(dir, "checkpoint"), MANIFEST))) {
            return new Path(dir, "checkpoint");
        }
        return dir;
    }

    /**
     * The weights hash a checkpoint directory's manifest records (read without loading the model), or null for an
     * {@code hf:} spec or a directory without a readable manifest.
     */
    public static String recordedWeightsSha256(FileStore store, String spec) {
        if (HfImport.isSpec(spec)) {
            return null;
        }
        Path manifest = new Path(checkpointDir(store, FileStore.path(spec)), MANIFEST);
        if (!store.exists(manifest)) {
            return null;
        }
        try {
            Object sha = JSON.readValue(store.readText(manifest), new TypeReference<Map<String, Object>>() { }).get("weights_sha256");
            return sha instanceof String s ? s : null;
        } catch (IOException | RuntimeException e) {
            return null;   // load() reports what is wrong
        }
    }

    /**
     * A checkpoint by spec: {@code hf:DIR} imports a Hugging Face model directory (in memory; {@code rlsf checkpoint
     * --from hf:DIR --out CKPT} converts it once), anything else is a checkpoint directory ({@link #load}).
     */
    public static Checkpoint open(FileStore store, String spec) {
        if (HfImport.isSpec(spec)) {
            HfImport imported = HfImport.load(store, spec);
            ComputationGraph g = imported.model().graph();
            return new Checkpoint(g, imported.tokenizer(), imported.model().config().model(), imported.lineage(),
                    weightsSha256(g.params()));
        }
        return load(store, FileStore.path(spec));
    }

    /**
     * Converts {@code hf:DIR} into a checkpoint at {@code dir}, unless one converted from the same source files (their
     * SHA-256, recorded in its lineage) is already there: a rerun hashes the source files but does not import the model
     * again. Returns the checkpoint (verified).
     */
    public static Checkpoint convert(FileStore store, String spec, Path dir) {
        if (store.exists(new Path(dir, MANIFEST))) {
            Checkpoint existing = load(store, dir);
            Map<String, String> source = HfImport.sourceHashes(store, spec);
            if (source.equals(existing.lineage().get(HfImport.SOURCE_HASHES))) {
                return existing;
            }
            throw new IllegalArgumentException(dir + " holds another model (not converted from the files of " + spec
                    + "); choose another directory");
        }
        Checkpoint imported = open(store, spec);
        save(store, dir, imported.graph(), imported.tokenizer(), imported.model(), imported.lineage(), false);
        return load(store, dir);
    }

    /** Built-in models ship in the jar under this resource folder, one checkpoint directory each. */
    public static final String BUILTIN_PREFIX = "builtin:";
    static final String BUILTIN_RESOURCES = "org/rlsf/models/";

    /**
     * Copies the built-in checkpoint {@code builtin:NAME} out of the jar into {@code dir} (a normal,
     * verified checkpoint directory afterwards), unless a checkpoint is already there.
     */
    public static void materializeBuiltin(FileStore store, String spec, Path dir) {
        String name = spec.substring(BUILTIN_PREFIX.length());
        if (store.exists(new Path(dir, MANIFEST))) {
            return;
        }
        Path staging = store.stagingFor(dir);
        for (String file : new String[]{MODEL, TOKENIZER, CONFIG, LINEAGE, MANIFEST}) {
            String resource = BUILTIN_RESOURCES + name + "/" + file;
            try (var in = Checkpoint.class.getClassLoader().getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalArgumentException("no built-in model '" + name + "' (missing resource " + resource + ")");
                }
                try (var out = store.create(new Path(staging, file))) {
                    in.transferTo(out);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot copy built-in model " + name + ": " + e.getMessage(), e);
            }
        }
        store.commit(staging, dir);
        load(store, dir);   // verify
    }

    /**
     * SHA-256 of the parameters as float32 little-endian, hex (independent of the storage dtype), hashed in blocks of
     * 1 Mi values: never a second copy of the weights, whatever their size.
     */
    public static String weightsSha256(INDArray params) {
        INDArray flat = params.reshape(params.length());
        MessageDigest digest = sha256Digest();
        int block = 1 << 20;
        ByteBuffer buf = ByteBuffer.allocate(block * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (long from = 0; from < flat.length(); from += block) {
            long to = Math.min(flat.length(), from + block);
            float[] values = flat.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(from, to)).castTo(DataType.FLOAT).toFloatVector();
            buf.clear();
            buf.asFloatBuffer().put(values);
            digest.update(buf.array(), 0, values.length * 4);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
