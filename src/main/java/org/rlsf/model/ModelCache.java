package org.rlsf.model;

import org.rlsf.io.FileStore;

import java.util.concurrent.ConcurrentHashMap;

/**
 * One loaded checkpoint per path per JVM: Spark executors ship the path, never the model, and
 * every task of the executor reuses the same weights (loaded and hash-verified once). A {@code hf:DIR} spec is
 * imported once per JVM the same way.
 */
public final class ModelCache {
    private static final ConcurrentHashMap<String, Checkpoint> CACHE = new ConcurrentHashMap<>();

    private ModelCache() {
    }

    public static Checkpoint get(String path) {
        return CACHE.computeIfAbsent(path, p -> Checkpoint.open(FileStore.local(), p));
    }
}
