package org.rlsf.model;

import org.rlsf.io.FileStore;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Loaded checkpoints per JVM: Spark executors ship a path, never the model, and every task of the executor reuses the
 * same weights (loaded and hash-verified once). A {@code hf:DIR} spec is imported once per JVM the same way.
 *
 * <p>Entries are keyed by path and weights hash: a caller that knows the hash the driver planned with passes it, and a
 * checkpoint rewritten at the same path since (a rerun into the same output) is loaded afresh and must carry exactly
 * that hash, or the task fails instead of computing with other weights. The cache keeps the {@link #CAPACITY} most
 * recently used models (PPO reaches each executor with a new policy and value model every round).
 */
public final class ModelCache {
    /** Models kept per JVM: PPO's four (policy, value, reference, reward model) and a round's successors. */
    static final int CAPACITY = 8;

    private static final Map<String, Checkpoint> CACHE = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Checkpoint> eldest) {
            return size() > CAPACITY;
        }
    };

    private ModelCache() {
    }

    /** The checkpoint at {@code path} as it is now (its manifest's weights hash picks the cached copy). */
    public static Checkpoint get(String path) {
        return get(path, Checkpoint.recordedWeightsSha256(FileStore.local(), path));
    }

    /**
     * The checkpoint at {@code path}, which must have weights hash {@code weightsSha256} (null: any; only for specs
     * without a manifest, such as {@code hf:DIR}).
     *
     * @throws IllegalStateException when the checkpoint there now has other weights
     */
    public static Checkpoint get(String path, String weightsSha256) {
        org.rlsf.config.NativeChecks.require();
        synchronized (CACHE) {
            if (weightsSha256 != null) {
                Checkpoint c = CACHE.get(path + "@" + weightsSha256);
                if (c != null) {
                    return c;
                }
            } else {
                for (Map.Entry<String, Checkpoint> e : CACHE.entrySet()) {
                    if (e.getKey().startsWith(path + "@")) {
                        return CACHE.get(e.getKey());   // touches the entry (access order)
                    }
                }
            }
            Checkpoint c = Checkpoint.open(FileStore.local(), path);
            if (weightsSha256 != null && !weightsSha256.equals(c.weightsSha256())) {
                throw new IllegalStateException("checkpoint " + path + " now has weights sha256 " + c.weightsSha256()
                        + ", not the " + weightsSha256 + " this job was planned with: it was rewritten while the job ran");
            }
            CACHE.put(path + "@" + c.weightsSha256(), c);
            return c;
        }
    }

    /** Forgets every model (tests). */
    static void clear() {
        synchronized (CACHE) {
            CACHE.clear();
        }
    }
}
