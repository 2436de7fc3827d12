package org.rlsf.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Which GPUs this build's CUDA backend can run on, and the refusal of one it cannot, checked when a JVM starts instead
 * of a native crash deep in a stage.
 *
 * <p>ND4J 1.0.0-M2.1's CUDA 11.6 natives ({@code mvn -Pcuda}) carry compiled kernels for compute capabilities 3.7, 5.0,
 * 5.2, 6.0, 6.1, 7.0, 7.5, 8.0 and 8.6 and no PTX, so no kernel can be compiled for a newer GPU at load: a compiled
 * kernel runs on its own major version only (8.6's on 8.6 and 8.9), and Hopper (9.0: H100, H200) and newer get "no
 * kernel image is available" at the first launch. CUDA 11.6 cannot target 9.0 at all.
 *
 * <p>Plain logic: the GPU list comes in as {@code nvidia-smi --query-gpu=index,name,compute_cap --format=csv,noheader}
 * lines.
 */
public final class GpuSupport {
    /** The query whose output {@link #parse} reads. */
    public static final List<String> QUERY = List.of("nvidia-smi", "--query-gpu=index,name,compute_cap",
            "--format=csv,noheader");
    /** The oldest and newest major.minor the build's kernels cover (3.7 … 8.x). */
    static final int MIN = 37, MAX_MAJOR = 8;

    private GpuSupport() {
    }

    /** One GPU: nvidia-smi's index, name and compute capability (major·10 + minor, e.g. 90 for 9.0). */
    public record Gpu(String index, String name, int capability) {
        public String capabilityText() {
            return capability / 10 + "." + capability % 10;
        }
    }

    /** Whether the jar was built with ND4J's CUDA backend (its {@code version.properties}). */
    public static boolean cudaBuild() {
        return CodeVersion.buildProperties().getProperty("backend", "").contains("cuda");
    }

    /**
     * The GPUs in nvidia-smi's CSV lines ("0, NVIDIA H100 80GB HBM3, 9.0").
     *
     * @throws IllegalArgumentException naming the line that does not read as index, name, capability
     */
    public static List<Gpu> parse(List<String> lines) {
        List<Gpu> gpus = new ArrayList<>();
        for (String line : lines) {
            if (line.isBlank()) {
                continue;
            }
            int first = line.indexOf(','), last = line.lastIndexOf(',');
            if (first < 0 || last <= first) {
                throw new IllegalArgumentException("nvidia-smi: not 'index, name, compute_cap': " + line);
            }
            String cap = line.substring(last + 1).trim();
            String[] mm = cap.split("\\.");
            try {
                gpus.add(new Gpu(line.substring(0, first).trim(), line.substring(first + 1, last).trim(),
                        Integer.parseInt(mm[0]) * 10 + Integer.parseInt(mm[1])));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("nvidia-smi: compute capability '" + cap + "' in: " + line, e);
            }
        }
        return gpus;
    }

    /** Whether the build's kernels run on {@code gpu}. */
    public static boolean runs(Gpu gpu) {
        return gpu.capability() >= MIN && gpu.capability() / 10 <= MAX_MAJOR;
    }

    /** The refusal for the first GPU the build cannot run on, or empty when it runs on all of them. */
    public static Optional<String> refusal(List<Gpu> gpus, String host) {
        for (Gpu g : gpus) {
            if (!runs(g)) {
                return Optional.of("GPU " + g.index() + " on " + host + " (" + g.name() + ", compute capability "
                        + g.capabilityText() + ") cannot run this build: ND4J 1.0.0-M2.1's CUDA 11.6 backend (mvn -Pcuda) "
                        + "carries kernels for compute capabilities 3.7 to 8.6 (8.x GPUs) and no PTX to compile for newer "
                        + "ones, so every kernel launch would fail with 'no kernel image is available'. What works: CPU "
                        + "executors (the default build, without -Pcuda) or GPUs of compute capability 3.7 to 8.9 (V100, T4, "
                        + "A100, A10, RTX 30xx/40xx, L4, L40).");
            }
        }
        return Optional.empty();
    }
}
