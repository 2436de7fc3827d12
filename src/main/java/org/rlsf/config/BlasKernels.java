package org.rlsf.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which OpenBLAS kernels rlsf's JVMs run ({@code compute.blas-kernels}), as the {@code OPENBLAS_CORETYPE} variable
 * OpenBLAS reads once, when it loads.
 *
 * <p>Why: ND4J 1.0.0-M2.1 ships OpenBLAS 0.3.19, which predates AMD Zen 4 and newer Intel cores. On a Zen 4 EPYC it
 * ran generic kernels (~40 GFLOP/s one-thread sgemm) where its own AVX-512 "SkylakeX" kernels run ~190 on the same
 * core. OpenBLAS picks nothing better on its own, and a kernel set the CPU cannot run dies with an illegal
 * instruction at the first product, so a forced set is checked against the CPU's flags first.
 *
 * <p>Plain logic: CPU flags come in as a set (read from {@code /proc/cpuinfo} by {@link #cpu()}).
 */
public final class BlasKernels {
    /** The environment variable OpenBLAS reads. */
    public static final String VARIABLE = "OPENBLAS_CORETYPE";
    /** {@code compute.blas-kernels}: pick the best set for the CPU. */
    public static final String AUTO = "auto";
    /** {@code compute.blas-kernels}: leave {@code OPENBLAS_CORETYPE} as the environment has it. */
    public static final String INHERIT = "inherit";

    private static final Set<String> AVX512 = Set.of("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl");
    private static final Set<String> AVX2 = Set.of("avx2", "fma");

    /**
     * OpenBLAS 0.3.19's x86-64 core names (its {@code dynamic.c}), lower case, with the CPU flags each needs beyond
     * SSE3 where this class knows them (an unlisted need is none).
     */
    private static final Map<String, Set<String>> CORES = Map.ofEntries(
            Map.entry("prescott", Set.of()), Map.entry("core2", Set.of()), Map.entry("penryn", Set.of()),
            Map.entry("dunnington", Set.of()), Map.entry("nehalem", Set.of()), Map.entry("atom", Set.of()),
            Map.entry("opteron", Set.of()), Map.entry("opteron_sse3", Set.of()), Map.entry("barcelona", Set.of()),
            Map.entry("nano", Set.of()), Map.entry("bobcat", Set.of()),
            Map.entry("sandybridge", Set.of("avx")), Map.entry("bulldozer", Set.of("avx")),
            Map.entry("piledriver", Set.of("avx", "fma")), Map.entry("steamroller", Set.of("avx", "fma")),
            Map.entry("excavator", Set.of("avx", "fma")),
            Map.entry("haswell", AVX2), Map.entry("zen", AVX2),
            Map.entry("skylakex", AVX512), Map.entry("cooperlake", union(AVX512, Set.of("avx512_bf16"))));

    private BlasKernels() {
    }

    /** The CPU a process runs on: its model name and flags. */
    public record Cpu(String model, Set<String> flags) {
        public Cpu {
            flags = Set.copyOf(flags);
        }
    }

    /**
     * Validates a {@code compute.blas-kernels} value: auto, inherit or an OpenBLAS core name (any case).
     *
     * @return the value, a core name in OpenBLAS's spelling
     */
    static String validate(String setting) {
        String s = setting.trim();
        if (s.equalsIgnoreCase(AUTO) || s.equalsIgnoreCase(INHERIT)) {
            return s.toLowerCase(Locale.ROOT);
        }
        Require.that(CORES.containsKey(s.toLowerCase(Locale.ROOT)), "compute.blas-kernels",
                "auto, inherit or one of OpenBLAS 0.3.19's core names " + new TreeSet<>(CORES.keySet()), setting);
        return s;
    }

    /** The fastest kernel set {@code cpu} runs: SkylakeX with AVX-512, Haswell with AVX2 and FMA, else none (OpenBLAS's own pick). */
    public static Optional<String> best(Cpu cpu) {
        if (cpu.flags().containsAll(AVX512)) {
            return Optional.of("SkylakeX");
        }
        if (cpu.flags().containsAll(AVX2)) {
            return Optional.of("Haswell");
        }
        return Optional.empty();
    }

    /**
     * What {@code OPENBLAS_CORETYPE} should be for a process on {@code cpu}, given the setting and the value the
     * environment has (null: unset).
     *
     * @return the value to set, or empty to leave the environment as it is
     */
    public static Optional<String> resolve(String setting, String inherited, Cpu cpu) {
        if (setting.equalsIgnoreCase(INHERIT)) {
            return Optional.ofNullable(inherited);
        }
        if (setting.equalsIgnoreCase(AUTO)) {
            return best(cpu).or(() -> Optional.ofNullable(inherited));
        }
        return Optional.of(setting);
    }

    /** The CPU flags kernel set {@code coretype} needs that {@code cpu} lacks (empty: it runs them). */
    public static Set<String> missing(String coretype, Cpu cpu) {
        Set<String> need = CORES.getOrDefault(coretype.trim().toLowerCase(Locale.ROOT), Set.of());
        Set<String> lacking = new TreeSet<>(need);
        lacking.removeAll(cpu.flags());
        return lacking;
    }

    /**
     * Refuses a kernel set this CPU cannot run, before the first product dies of an illegal instruction.
     *
     * @param coretype {@code OPENBLAS_CORETYPE} as this process has it (null: unset, OpenBLAS detects)
     * @throws IllegalStateException naming the host, the CPU, the kernel set and what it lacks
     */
    public static void requireRunnable(String coretype, Cpu cpu, String host) {
        if (coretype == null || coretype.isBlank()) {
            return;
        }
        Set<String> lacking = missing(coretype, cpu);
        if (!lacking.isEmpty()) {
            throw new IllegalStateException("OpenBLAS is set to run its " + coretype + " kernels (" + VARIABLE + "="
                    + coretype + ") on host " + host + ", whose CPU (" + cpu.model() + ") lacks " + lacking
                    + ": every matrix product would die of an illegal instruction. Set compute.blas-kernels to "
                    + best(cpu).orElse("inherit") + " (or \"inherit\" with " + VARIABLE + " unset) for these executors, "
                    + "or run them on CPUs with " + lacking + ".");
        }
    }

    /** This process's CPU, from {@code /proc/cpuinfo} (Linux); model "unknown" and no flags elsewhere. Read once. */
    public static Cpu cpu() {
        return ThisCpu.CPU;
    }

    /** The lazily read CPU of this process (the config, the notice and the checks all ask; it never changes). */
    private static final class ThisCpu {
        static final Cpu CPU = read();
    }

    private static Cpu read() {
        Path info = Path.of("/proc/cpuinfo");
        if (!Files.isReadable(info)) {
            return new Cpu("unknown", Set.of());
        }
        try {
            return parse(Files.readAllLines(info));
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + info, e);
        }
    }

    /** The first processor's model name and flags in {@code /proc/cpuinfo} lines. */
    static Cpu parse(List<String> cpuinfo) {
        String model = "unknown";
        Set<String> flags = new LinkedHashSet<>();
        for (String line : cpuinfo) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon).trim();
            String value = line.substring(colon + 1).trim();
            if (key.equals("model name") && model.equals("unknown")) {
                model = value;
            } else if (key.equals("flags") && flags.isEmpty()) {
                flags.addAll(Arrays.asList(value.split("\\s+")));
            }
        }
        return new Cpu(model, flags);
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new LinkedHashSet<>(a);
        u.addAll(b);
        return Set.copyOf(u);
    }
}
