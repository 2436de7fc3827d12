package org.rlsf.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.MirroringPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.config.ModelConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Batched incremental decoding with a key/value cache, computed eagerly over the same parameters as the training
 * graph. Prompts of different lengths are left-padded; a row's positions count from its first real token and padded
 * keys get a −1e9 bias. Prefill is ND4J operations; one-token steps are ND4J operations over ND4J caches on any
 * backend (CUDA included, {@link Attention#ND4J}) and, on the CPU backend, Java loops over Java caches with direct
 * OpenBLAS projections ({@link Attention#HEAP}). {@code KvCacheDecoderTest} checks every next-token distribution of
 * both against a full forward pass of the {@link TransformerLm} graph.
 */
public final class KvCacheDecoder {
    private static final WorkspaceConfiguration STEP_WORKSPACE = WorkspaceConfiguration.builder()
            .initialSize(0)
            .policyAllocation(AllocationPolicy.OVERALLOCATE)
            .overallocationLimit(0.3)
            .policyLearning(LearningPolicy.OVER_TIME)
            .cyclesBeforeInitialization(1)
            .policyMirroring(MirroringPolicy.FULL)
            .policySpill(SpillPolicy.REALLOCATE)
            .build();
    private static final WorkspaceConfiguration CACHE_WORKSPACE = WorkspaceConfiguration.builder()
            .initialSize(0)
            .policyAllocation(AllocationPolicy.OVERALLOCATE)
            .overallocationLimit(0.2)
            .policyLearning(LearningPolicy.OVER_TIME)
            .cyclesBeforeInitialization(1)
            .policyMirroring(MirroringPolicy.FULL)
            .policySpill(SpillPolicy.REALLOCATE)
            .build();
    /**
     * How one-token decoding steps run. {@link #HEAP}: the cache, attention and element-wise work in Java arrays and
     * loops ({@link HeapKvCache}), projections by direct OpenBLAS calls ({@link HostMatrix}); CPU backend and
     * float32 only, and the fastest there. {@link #ND4J}: ND4J arrays and ops, on any backend (CUDA included).
     * Prefill is ND4J operations either way.
     */
    public enum Attention {
        HEAP, ND4J;

        /** {@link #HEAP} on ND4J's CPU backend for float32 weights, {@link #ND4J} otherwise. */
        public static Attention auto(DataType weights) {
            return CPU && weights == DataType.FLOAT ? HEAP : ND4J;
        }

        /** The steps {@code compute.decoding} asks for; null for AUTO (the backend's default, {@link #auto}). */
        public static Attention of(org.rlsf.config.ComputeConfig.DecodingSteps steps) {
            return switch (steps) {
                case AUTO -> null;
                case HEAP -> HEAP;
                case ND4J -> ND4J;
            };
        }
    }

    private static final boolean CPU = Nd4j.getEnvironment().isCPU();
    private final ModelConfig model;
    private final Attention attention;
    private final DecoderWeights weights;

    public KvCacheDecoder(ModelConfig model, TransformerWeights weights) {
        this(model, weights, null);
    }

    /** @param attention how steps run; null for {@link Attention#auto} */
    public KvCacheDecoder(ModelConfig model, TransformerWeights weights, Attention attention) {
        if (attention == null) {
            attention = Attention.auto(weights.wte().dataType());
        }
        if (attention == Attention.HEAP && weights.wte().dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("heap attention computes in float32; the weights are "
                    + weights.wte().dataType());
        }
        this.model = model;
        this.attention = attention;
        this.weights = new DecoderWeights(model, weights, attention == Attention.HEAP);
    }

    public ModelConfig model() {
        return model;
    }

    public Attention attention() {
        return attention;
    }

    /**
     * Observes every decoding step: the [B, V] log-probabilities of the next token and the chosen ids, indexed by
     * the original row. Rows no longer active may have no distribution ({@code null}): they were dropped from
     * the batch.
     */
    @FunctionalInterface
    public interface StepObserver {
        void onStep(int step, float[][] logProbs, int[] chosen, boolean[] active);

        StepObserver NONE = (s, lp, c, a) -> { };
    }

    /** The batch is compacted to its active rows once at most half of at least this many rows are active. */
    static final int COMPACT_MIN_ROWS = 4;

    /**
     * Generates a continuation for each prompt (token ids without BOS; BOS is prepended here unless {@code bosId} is -1).
     * Rows stop at EOS or after {@code maxNewTokens}; row b samples from {@code new Random(seed + b)}.
     *
     * @throws IllegalArgumentException when a prompt plus {@code maxNewTokens} exceeds the context length
     */
    public List<Generation> generate(List<int[]> prompts, int maxNewTokens, int bosId, int eosId,
                                     TokenChooser chooser, long seed, StepObserver observer) {
        int batch = prompts.size();
        int[][] rows = new int[batch][];
        for (int b = 0; b < batch; b++) {
            rows[b] = Tokenizer.withBos(bosId, prompts.get(b));
            if (rows[b].length == 0) {
                throw new IllegalArgumentException("prompt " + b + " is empty and the model starts sequences without BOS");
            }
        }
        return withCacheScope(() -> {
            Session session = start(rows, maxNewTokens);
            return decode(session, session.prefill(), maxNewTokens, eosId, chooser, seed, observer);
        });
    }

    /**
     * The log-probability of each given continuation token after its prompt (teacher forcing through the cache):
     * {@code out[b][i] = log p(continuations[b][i] | [BOS] prompts[b] continuations[b][0..i))}, the same values
     * {@link #generate} records for the tokens it chooses. PPO reads the frozen reference's log-probs of the policy's
     * samples this way.
     */
    public List<float[]> forcedLogProbs(List<int[]> prompts, List<int[]> continuations, int bosId) {
        if (prompts.size() != continuations.size()) {
            throw new IllegalArgumentException(prompts.size() + " prompts, " + continuations.size() + " continuations");
        }
        int batch = prompts.size();
        int longest = continuations.stream().mapToInt(c -> c.length).max().orElse(0);
        List<float[]> out = new ArrayList<>(batch);
        for (int[] c : continuations) {
            out.add(new float[c.length]);
        }
        if (batch == 0 || longest == 0) {
            return out;
        }
        int[][] rows = new int[batch][];
        for (int b = 0; b < batch; b++) {
            rows[b] = Tokenizer.withBos(bosId, prompts.get(b));
        }
        return withCacheScope(() -> {
            Session session = start(rows, longest);
            float[][] logProbs = session.prefill();
            for (int i = 0; i < longest; i++) {
                int[] feed = new int[batch];
                for (int b = 0; b < batch; b++) {
                    int[] c = continuations.get(b);
                    if (i < c.length) {
                        out.get(b)[i] = logProbs[b][c[i]];
                    }
                    feed[b] = c.length == 0 ? rows[b][rows[b].length - 1] : c[Math.min(i, c.length - 1)];  // past its end: ignored
                }
                if (i < longest - 1) {
                    logProbs = session.step(feed);
                }
            }
            return out;
        });
    }

    /**
     * Runs {@code work} with every session it starts or forks keeping its ND4J key/value cache in a per-thread
     * workspace that the next scope reuses: decoding allocates (and the OS faults in) fresh cache memory once per
     * thread instead of for every batch, fork and compaction. Sessions must not outlive the scope; what {@code work}
     * returns must be plain Java data. Heap-attention sessions keep their cache in Java arrays: no workspace then.
     */
    public <T> T withCacheScope(java.util.function.Supplier<T> work) {
        if (attention == Attention.HEAP) {
            return work.get();
        }
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(CACHE_WORKSPACE, "rlsf-kv-cache")) {
            return work.get();
        }
    }

    /**
     * Feeds one more token to every row of {@code session} (typically a {@link Session#fork} of a prefilled
     * prompt batch, with each row's forced first token), then continues as {@link #generate} does. The
     * returned generations hold only the tokens chosen after {@code lastTokens}.
     */
    public List<Generation> continueFrom(Session session, int[] lastTokens, int maxNewTokens, int eosId,
                                         TokenChooser chooser, long seed, StepObserver observer) {
        if (lastTokens.length != session.batch) {
            throw new IllegalArgumentException(lastTokens.length + " tokens for a batch of " + session.batch);
        }
        return decode(session, session.step(lastTokens), maxNewTokens, eosId, chooser, seed, observer);
    }

    private List<Generation> decode(Session session, float[][] first, int maxNewTokens, int eosId,
                                    TokenChooser chooser, long seed, StepObserver observer) {
        Decoding d = new Decoding(session, first, maxNewTokens, eosId, chooser, seed, observer);
        // a step is one call: the JIT compiles Decoding.step once; it had compiled this loop with a step inlined into it
        // once per loop entry (on-stack replacement), 0.4-0.7 s of C2 time each, five times in the main job
        for (int step = 0; step < maxNewTokens; step++) {
            if (!d.step(step)) {
                break;
            }
        }
        return d.result();
    }

    /**
     * One {@link #decode}'s state: choose, record, feed back, until every row is done; finished rows leave the batch
     * once they are half.
     */
    private static final class Decoding {
        private final int batch;
        private final int maxNewTokens;
        private final int eosId;
        private final TokenChooser chooser;
        private final StepObserver observer;
        private final Random[] rngs;
        private final int[][] out;
        private final float[][] outLp;
        private final int[] length;
        private final boolean[] active;
        private final float[][] logProbs;
        private Session session;
        private int[] rowOf;               // session row -> original row

        Decoding(Session session, float[][] first, int maxNewTokens, int eosId, TokenChooser chooser, long seed,
                 StepObserver observer) {
            this.session = session;
            this.batch = session.batch;
            this.maxNewTokens = maxNewTokens;
            this.eosId = eosId;
            this.chooser = chooser;
            this.observer = observer;
            rngs = new Random[batch];
            for (int b = 0; b < batch; b++) {
                rngs[b] = new Random(seed + b);
            }
            out = new int[batch][maxNewTokens];
            outLp = new float[batch][maxNewTokens];
            length = new int[batch];
            active = new boolean[batch];
            Arrays.fill(active, true);
            rowOf = new int[batch];
            for (int b = 0; b < batch; b++) {
                rowOf[b] = b;
            }
            logProbs = first.clone();
        }

        /** Step {@code step}: false once every row is done (or this was the last step). */
        boolean step(int step) {
            int[] chosen = new int[batch];
            int live = 0;
            for (int b = 0; b < batch; b++) {
                chosen[b] = active[b] ? chooser.choose(logProbs[b], rngs[b]) : eosId;
            }
            observer.onStep(step, logProbs, chosen, active.clone());
            for (int b = 0; b < batch; b++) {
                if (!active[b]) {
                    continue;
                }
                out[b][length[b]] = chosen[b];
                outLp[b][length[b]] = logProbs[b][chosen[b]];
                length[b]++;
                if (chosen[b] == eosId) {
                    active[b] = false;
                }
                live += active[b] ? 1 : 0;
            }
            if (live == 0 || step == maxNewTokens - 1) {
                return false;
            }
            if (session.batch >= COMPACT_MIN_ROWS && 2 * live <= session.batch) {
                int[] keep = new int[live];
                int[] keptRowOf = new int[live];
                for (int i = 0, j = 0; i < session.batch; i++) {
                    if (active[rowOf[i]]) {
                        keep[j] = i;
                        keptRowOf[j++] = rowOf[i];
                    }
                }
                session = session.fork(keep);
                rowOf = keptRowOf;
            }
            int[] feed = new int[session.batch];
            for (int i = 0; i < feed.length; i++) {
                feed[i] = chosen[rowOf[i]];
            }
            float[][] next = session.step(feed);
            Arrays.fill(logProbs, null);
            for (int i = 0; i < next.length; i++) {
                logProbs[rowOf[i]] = next[i];
            }
            return true;
        }

        List<Generation> result() {
            List<Generation> result = new ArrayList<>(batch);
            for (int b = 0; b < batch; b++) {
                int n = length[b];
                boolean eos = n > 0 && out[b][n - 1] == eosId;
                result.add(new Generation(Arrays.copyOf(out[b], n), Arrays.copyOf(outLp[b], n),
                        eos ? Generation.FinishReason.EOS : Generation.FinishReason.MAX_TOKENS));
            }
            return result;
        }
    }

    /** Starts a cache for these rows (full token ids, BOS included), with room for {@code extraTokens} more. */
    public Session start(int[][] rows, int extraTokens) {
        return new Session(rows, extraTokens);
    }

    /** Cache state of one batch: its rows' padding and length, and the steps over its cache. Not thread-safe. */
    public final class Session {
        private final int batch;
        private final int capacity;
        private final int[] padLeft;
        private final int[][] prompt;     // null for a fork
        private final DecodeSteps steps;
        private int length;

        private Session(int[][] rows, int extraTokens) {
            this.batch = rows.length;
            int longest = Arrays.stream(rows).mapToInt(r -> r.length).max().orElse(0);
            if (batch == 0 || longest == 0) {
                throw new IllegalArgumentException("nothing to decode: empty batch or empty prompt");
            }
            if (longest + extraTokens > model.contextLength()) {
                throw new IllegalArgumentException("a prompt of " + longest + " tokens plus " + extraTokens
                        + " new tokens exceeds the model's context length " + model.contextLength());
            }
            this.capacity = longest + extraTokens;
            this.prompt = rows;
            this.padLeft = new int[batch];
            for (int b = 0; b < batch; b++) {
                padLeft[b] = longest - rows[b].length;
            }
            this.steps = attention == Attention.HEAP ? new HeapSteps(weights, batch, capacity, padLeft)
                    : new Nd4jSteps(weights, batch, capacity, padLeft);
        }

        /** A copy of these rows' caches (rows may repeat): prefill a prompt once, then decode its branches. */
        private Session(Session parent, int[] rows) {
            this.batch = rows.length;
            if (batch == 0) {
                throw new IllegalArgumentException("nothing to decode: empty batch");
            }
            this.capacity = parent.capacity;
            this.prompt = null;
            this.length = parent.length;
            this.padLeft = new int[batch];
            for (int b = 0; b < batch; b++) {
                padLeft[b] = parent.padLeft[rows[b]];
            }
            this.steps = parent.steps.fork(rows, padLeft);
        }

        /** A new session whose row i continues row {@code rows[i]} of this one (same tokens so far, same cache). */
        public Session fork(int[] rows) {
            return new Session(this, rows);
        }

        public int batch() {
            return batch;
        }

        public int length() {
            return length;
        }

        /** Runs the (left-padded) prompts; returns the next-token log-probs [B][V] after each prompt. */
        public float[][] prefill() {
            if (prompt == null || length > 0) {
                throw new IllegalStateException("prefill runs once, on a session started from prompts");
            }
            int s = prompt[0].length + padLeft[0];
            int[][] chunk = new int[batch][s];
            for (int b = 0; b < batch; b++) {
                System.arraycopy(prompt[b], 0, chunk[b], padLeft[b], prompt[b].length);
            }
            return forward(chunk);
        }

        /** Appends one token per row; returns the next-token log-probs [B][V]. */
        public float[][] step(int[] tokens) {
            int[][] chunk = new int[batch][1];
            for (int b = 0; b < batch; b++) {
                chunk[b][0] = tokens[b];
            }
            return forward(chunk);
        }

        private float[][] forward(int[][] chunk) {
            int s = chunk[0].length;
            if (length + s > capacity) {
                throw new IllegalStateException("KV cache full: " + length + " + " + s + " > " + capacity);
            }
            // Every intermediate of a step lives in a per-thread workspace: after the first step its memory is
            // reused (no off-heap allocation and release per op, which dominated decoding time at small batch).
            // Only the cache (allocated outside, written in place) and the Java float[][] result outlive it.
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(STEP_WORKSPACE, "rlsf-kv-decode")) {
                float[][] out = steps.forward(chunk, length, padLeft);
                length += s;
                return out;
            }
        }
    }
}
