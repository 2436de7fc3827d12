package org.rlsf.model;

import org.rlsf.io.FileStore;

import java.util.concurrent.ConcurrentHashMap;

/**
 * One loaded checkpoint per path per JVM: Spark executors ship the path, never the model, and
 * every task of the executor reuses the same weights (loaded and hash-verified once).
 */
public final class ModelCache {
    private static final ConcurrentHashMap<String, Checkpoint> CACHE = new ConcurrentHashMap<>();

    private ModelCache() {
    }

    public static Checkpoint get(String path) {
        return CACHE.computeIfAbsent(path, p -> Checkpoint.load(FileStore.local(), FileStore.path(p)));
    }
}
