package org.rlsf.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.config.ComputeConfig;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.KvCacheDecoder;
import org.rlsf.model.TokenChooser;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.TransformerWeights;
import org.rlsf.pairs.PreferenceExample;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Measures the model on synthetic tokens (seeded): single-process training tokens/s (forward +
 * backward + Adam, the step each Spark worker runs) and KV-cache generation tokens/s.
 * A benchmark measures; it asserts nothing.
 */
public final class ModelBench {
    private ModelBench() {
    }

    /**
     * @param workers when above 1, also measure this many concurrent copies (threads, each with its own model,
     *                as Spark runs one task per core) and report their summed throughput as {@code *_workersN}
     */
    public record Settings(int seqLen, int batch, int trainSteps, int warmupSteps, int promptTokens, int newTokens,
                           List<Integer> genBatches, long seed, int workers, ComputeConfig compute) {
    }

    /** A decoder over the graph's weights, with compute.decoding's steps. */
    private static KvCacheDecoder decoder(ModelConfig model, ComputationGraph graph, ComputeConfig compute) {
        return new KvCacheDecoder(model, TransformerWeights.of(graph, model), KvCacheDecoder.Attention.of(compute.decoding()));
    }

    /**
     * What this JVM computes with, as the native libraries report it (not what was asked for): native and BLAS threads,
     * the thread and kernel-set variables, and the measured one-thread sgemm rate.
     */
    private static void putNativeFigures(Map<String, String> out) {
        out.put("nd4j_threads", String.valueOf(Nd4j.getEnvironment().maxThreads()));
        out.put("blas_threads", String.valueOf(Nd4j.factory().blas().getMaxThreads()));
        out.put("env_omp_num_threads", String.valueOf(System.getenv().getOrDefault("OMP_NUM_THREADS", "unset")));
        out.put("env_openblas_num_threads", String.valueOf(System.getenv().getOrDefault("OPENBLAS_NUM_THREADS", "unset")));
        out.put("env_openblas_coretype", String.valueOf(System.getenv().getOrDefault("OPENBLAS_CORETYPE", "unset")));
        out.put("blas_library", org.rlsf.config.BlasLibrary.loaded());
        out.put("element_wise_kernels", org.rlsf.model.VectorMath.describe());
        out.put("sgemm_gflops", String.format(java.util.Locale.ROOT, "%.1f", sgemmGflops()));
    }

    /**
     * This JVM's float32 matrix-product rate on one [1024, 1024]·[1024, 1024] product (GFLOP/s, best of 5 after a warm-up),
     * through the path the training kernels use: the machine's measured limit beside each figure.
     */
    static double sgemmGflops() {
        int n = 1024;
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n), b = Nd4j.rand(DataType.FLOAT, n, n), c = Nd4j.create(DataType.FLOAT, n, n);
        org.rlsf.model.graph.Matmul.gemm(a, false, b, false, c, 1.0, 0.0);   // into one output: fresh memory costs page faults
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            long t = System.nanoTime();
            org.rlsf.model.graph.Matmul.gemm(a, false, b, false, c, 1.0, 0.0);
            best = Math.min(best, System.nanoTime() - t);
        }
        return 2.0 * n * n * n / best;
    }

    /**
     * The DPO step alone, with LoRA adapters or full fine-tuning ({@code lora} rank 0), in a process that holds only
     * the DPO graph (so its peak RSS is the step's): tokens/s, trainable parameters, what one worker receives and
     * returns per parameter-averaging round (parameters and Adam state that travel, float32: {@link OrderedAveraging}),
     * and the peak resident set size.
     */
    public static Map<String, String> dpo(ModelConfig model, Settings s, org.rlsf.config.LoraConfig lora) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("parameters", String.valueOf(model.parameterCount()));
        out.put("seq_len", String.valueOf(s.seqLen()));
        out.put("train_batch", String.valueOf(s.batch()));
        out.put("lora_rank", String.valueOf(lora.rank()));
        out.put("lora_targets", String.join(",", lora.targetModules()));
        putNativeFigures(out);
        ComputationGraph dpo = TransformerLm.create(TransformerLm.preferenceConfiguration(model, s.seqLen(),
                new TransformerLm.Optimiser(1e-4, 0, 1000, 1.0, 0.0, 1.0).withSameDiffKernels(s.compute().sameDiffKernels()),
                DataType.FLOAT, 0.1, 0, "dpo", lora), model);
        Random rng = new Random(s.seed());
        int[][] seqs = randomSequences(rng, model, s);
        List<PreferenceExample> pairs = pairs(seqs, s);
        DataSet pairData = new PreferenceBatch(pairs, s.seqLen(), 1, 0).toDataSet();
        double seconds = seconds(() -> dpo.fit(pairData), s);
        long trainable = TrainableSlices.of(dpo).total();
        INDArray state = dpo.getUpdater().getStateViewArray();
        long stateLength = state == null ? 0 : state.length();
        out.put("trainable_parameters", String.valueOf(trainable));
        out.put("optimiser_state_values", String.valueOf(stateLength));
        out.put("dpo_step_ms", fmt(seconds * 1000 / s.trainSteps()));
        out.put("dpo_tokens_per_s", fmt(2.0 * pairs.size() * s.seqLen() * s.trainSteps() / seconds));
        // what the library's averaging ships per worker and round: every parameter and its Adam state; with LoRA only
        // the trainable values and their state (the frozen vector is broadcast once per training)
        out.put("bytes_per_round_each_way", String.valueOf(4L * ((lora.enabled() ? trainable : dpo.numParams()) + stateLength)));
        out.put("bytes_broadcast_once", String.valueOf(lora.enabled() ? 4L * dpo.numParams() : 0));
        out.put("peak_rss_mb", peakRssMb());
        return out;
    }

    /** {@code batch} sequences of {@code seqLen + 1} random ids (never the special ids 0–2), drawn from {@code rng}. */
    private static int[][] randomSequences(Random rng, ModelConfig model, Settings s) {
        int[][] seqs = new int[s.batch()][s.seqLen() + 1];
        for (int[] row : seqs) {
            for (int i = 0; i < row.length; i++) {
                row[i] = 3 + rng.nextInt(model.vocabSize() - 3);
            }
        }
        return seqs;
    }

    /** batch/2 pairs over {@code seqs}, the DPO step's rows: prompt = a sequence's first quarter, two continuations. */
    private static List<PreferenceExample> pairs(int[][] seqs, Settings s) {
        List<PreferenceExample> pairs = new ArrayList<>();
        int promptLen = s.seqLen() / 4;
        for (int i = 0; i < Math.max(1, s.batch() / 2); i++) {
            pairs.add(new PreferenceExample("b" + i, "b" + i, Arrays.copyOfRange(seqs[2 * i % seqs.length], 0, promptLen),
                    Arrays.copyOfRange(seqs[2 * i % seqs.length], promptLen, s.seqLen()),
                    Arrays.copyOfRange(seqs[(2 * i + 1) % seqs.length], promptLen, s.seqLen()), -50, -50));
        }
        return pairs;
    }

    /** The process's peak resident set size (Linux {@code VmHWM}), in MB, or "n/a". */
    static String peakRssMb() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return fmt(Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0);
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux
        }
        return "n/a";
    }

    /** Ordered name → value figures. */
    public static Map<String, String> run(ModelConfig model, Settings s) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("vocab_size", String.valueOf(model.vocabSize()));
        out.put("d_model", String.valueOf(model.dModel()));
        out.put("n_layers", String.valueOf(model.nLayers()));
        out.put("n_heads", String.valueOf(model.nHeads()));
        out.put("d_ff", String.valueOf(model.dFf()));
        out.put("parameters", String.valueOf(model.parameterCount()));
        out.put("seq_len", String.valueOf(s.seqLen()));
        out.put("train_batch", String.valueOf(s.batch()));
        out.put("prompt_tokens", String.valueOf(s.promptTokens()));
        out.put("new_tokens", String.valueOf(s.newTokens()));
        out.put("kernels", s.compute().kernels().configName());
        putNativeFigures(out);

        // 1) training step
        ComputationGraph graph = TransformerLm.create(model, s.seqLen(),
                new TransformerLm.Optimiser(1e-3, 0, 1000, 1.0, 0.0, 1.0)
                        .withSameDiffKernels(s.compute().sameDiffKernels()), DataType.FLOAT);
        Random rng = new Random(s.seed());
        int[][] seqs = randomSequences(rng, model, s);
        DataSet ds = new TokenBatch(seqs, s.seqLen(), 0).toDataSet();
        double trainSeconds = seconds(() -> graph.fit(ds), s);
        out.put("train_step_ms", fmt(trainSeconds * 1000 / s.trainSteps()));
        out.put("train_tokens_per_s", fmt((double) s.batch() * s.seqLen() * s.trainSteps() / trainSeconds));

        // 2) DPO step: the same shapes, batch rows = chosen/rejected rows of batch/2 pairs (prompt = first quarter)
        ComputationGraph dpo = TransformerLm.create(TransformerLm.preferenceConfiguration(model, s.seqLen(),
                new TransformerLm.Optimiser(1e-4, 0, 1000, 1.0, 0.0, 1.0).withSameDiffKernels(s.compute().sameDiffKernels()),
                DataType.FLOAT, 0.1, 0, "dpo"), model);
        TransformerLm.copyParams(graph, dpo);
        List<PreferenceExample> pairs = pairs(seqs, s);
        DataSet pairData = new PreferenceBatch(pairs, s.seqLen(), 1, 0).toDataSet();
        double dpoSeconds = seconds(() -> dpo.fit(pairData), s);
        out.put("dpo_step_ms", fmt(dpoSeconds * 1000 / s.trainSteps()));
        out.put("dpo_tokens_per_s", fmt(2.0 * pairs.size() * s.seqLen() * s.trainSteps() / dpoSeconds));
        out.put("dpo_pairs_per_s", fmt((double) pairs.size() * s.trainSteps() / dpoSeconds));

        // 3) KV-cache generation (no EOS: every row generates exactly newTokens)
        KvCacheDecoder decoder = decoder(model, graph, s.compute());
        out.put("decoding", decoder.attention().name().toLowerCase());
        for (int b : s.genBatches()) {
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < b; i++) {
                int[] p = new int[s.promptTokens()];
                for (int j = 0; j < p.length; j++) {
                    p[j] = 3 + rng.nextInt(model.vocabSize() - 3);
                }
                prompts.add(p);
            }
            for (int w = 0; w < Math.max(1, s.warmupSteps()); w++) {   // warm-up: full generations, so the JIT has
                decoder.generate(prompts, s.newTokens(), 1, -1, TokenChooser.greedy(), 0,   // compiled the step
                        KvCacheDecoder.StepObserver.NONE);
            }
            double[] runs = new double[3];   // the median of three, each long enough to time (below)
            for (int r = 0; r < runs.length; r++) {
                int n = 0;
                long g0 = System.nanoTime();
                do {
                    decoder.generate(prompts, s.newTokens(), 1, -1, TokenChooser.greedy(), 0, KvCacheDecoder.StepObserver.NONE);
                    n++;
                } while (System.nanoTime() - g0 < MIN_TIMED_NANOS);
                runs[r] = (System.nanoTime() - g0) / 1e9 / n;
            }
            Arrays.sort(runs);
            out.put("gen_batch" + b + "_tokens_per_s", fmt((double) b * s.newTokens() / runs[1]));
        }

        // 3b) CoT-decoding as the generate stage runs it: K=10 branches on the top first tokens, greedy after,
        //     branches batched batchRows at a time (random prompts, so no EOS: every branch runs newTokens)
        {
            int prompts = 16;
            List<int[]> batch = new ArrayList<>();
            for (int i = 0; i < prompts; i++) {
                batch.add(Arrays.copyOf(seqs[i % seqs.length], s.promptTokens()));
            }
            org.rlsf.generate.CotDecoder cot = new org.rlsf.generate.CotDecoder(decoder, 1, -1, java.util.Set.of());
            org.rlsf.generate.CotDecoder.Settings cs = new org.rlsf.generate.CotDecoder.Settings(10, s.newTokens(), 0.0, 64);
            cot.decode(batch, cs);   // warm-up: the same work once
            long c0 = System.nanoTime();
            cot.decode(batch, cs);
            double cotSeconds = (System.nanoTime() - c0) / 1e9;
            out.put("cot_decoding_prompts_per_s", fmt(prompts / cotSeconds));
            out.put("cot_decoding_tokens_per_s", fmt(prompts * 10.0 * s.newTokens() / cotSeconds));
        }

        // 4) the same steps as N concurrent workers (threads with their own copies), summed: the machine's
        //    throughput the way Spark uses it (one task per core, one native thread each)
        if (s.workers() > 1) {
            int n = s.workers();
            out.put("train_tokens_per_s_workers" + n, fmt(concurrent(n, s, () -> {
                ComputationGraph g = graph.clone();
                return () -> g.fit(ds);
            }, (double) s.batch() * s.seqLen())));
            out.put("dpo_tokens_per_s_workers" + n, fmt(concurrent(n, s, () -> {
                ComputationGraph g = dpo.clone();
                return () -> g.fit(pairData);
            }, 2.0 * pairs.size() * s.seqLen())));
            for (int b : s.genBatches()) {
                List<int[]> prompts = new ArrayList<>();
                for (int i = 0; i < b; i++) {
                    prompts.add(Arrays.copyOf(seqs[i % seqs.length], s.promptTokens()));
                }
                out.put("gen_batch" + b + "_tokens_per_s_workers" + n, fmt(concurrent(n, s, () -> {
                    KvCacheDecoder d = decoder(model, graph.clone(), s.compute());
                    return () -> d.generate(prompts, s.newTokens(), 1, -1, TokenChooser.greedy(), 0,
                            KvCacheDecoder.StepObserver.NONE);
                }, (double) b * s.newTokens())));
            }
        }
        return out;
    }

    /**
     * A timed generation repeats until it has run this long (a generation at batch 1 of the tiny shape takes ~25 ms,
     * a few scheduler ticks, and swung 2× run to run); bench/pytorch_reference.py times its side the same way.
     */
    static final long MIN_TIMED_NANOS = 300_000_000L;

    /** Seconds for trainSteps steps, after warmupSteps untimed ones. */
    private static double seconds(Runnable step, Settings s) {
        for (int i = 0; i < s.warmupSteps(); i++) {
            step.run();
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < s.trainSteps(); i++) {
            step.run();
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Runs {@code n} threads, each building its own step, warming up, then timing trainSteps steps together. */
    private static double concurrent(int n, Settings s, java.util.function.Supplier<Runnable> setup, double tokensPerStep) {
        java.util.concurrent.CyclicBarrier ready = new java.util.concurrent.CyclicBarrier(n + 1);
        java.util.concurrent.CyclicBarrier done = new java.util.concurrent.CyclicBarrier(n + 1);
        List<Thread> threads = new ArrayList<>();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        for (int t = 0; t < n; t++) {
            Thread th = new Thread(() -> {
                try {
                    Runnable step = setup.get();
                    for (int i = 0; i < Math.max(1, s.warmupSteps()); i++) {
                        step.run();
                    }
                    ready.await();
                    for (int i = 0; i < s.trainSteps(); i++) {
                        step.run();
                    }
                    done.await();
                } catch (Throwable e) {
                    failure.set(e);
                    ready.reset();
                    done.reset();
                }
            }, "bench-worker-" + t);
            threads.add(th);
            th.start();
        }
        try {
            ready.await();
            long t0 = System.nanoTime();
            done.await();
            double seconds = (System.nanoTime() - t0) / 1e9;
            return n * tokensPerStep * s.trainSteps() / seconds;
        } catch (Exception e) {
            throw new IllegalStateException("concurrent bench failed", failure.get() != null ? failure.get() : e);
        } finally {
            threads.forEach(th -> {
                try {
                    th.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
    }

    private static String fmt(double v) {
        return String.format("%.1f", v);
    }
}
