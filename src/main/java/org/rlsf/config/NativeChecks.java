package org.rlsf.config;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Start-up checks of this JVM's native math, run once per JVM before its first product: on the driver when a command
 * loads its configuration, on an executor when it starts (the Spark plugin {@code org.rlsf.io.ExecutorChecks}) and
 * before its first model loads.
 */
public final class NativeChecks {
    private static final Logger LOG = LoggerFactory.getLogger(NativeChecks.class);
    private static volatile boolean checked;

    private NativeChecks() {
    }

    /**
     * Refuses an OpenBLAS kernel set ({@code OPENBLAS_CORETYPE}) this CPU cannot run and, in a CUDA build, a GPU the
     * build's kernels do not cover.
     *
     * @throws IllegalStateException naming the host and what it lacks, and what works instead
     */
    public static void require() {
        if (checked) {
            return;
        }
        String host = host();
        BlasKernels.requireRunnable(System.getenv(BlasKernels.VARIABLE), BlasKernels.cpu(), host);
        if (GpuSupport.cudaBuild()) {
            List<GpuSupport.Gpu> gpus = visible(gpus(), System.getenv("CUDA_VISIBLE_DEVICES"));
            GpuSupport.refusal(gpus, host).ifPresent(message -> {
                throw new IllegalStateException(message);
            });
        }
        checked = true;
    }

    /** The GPUs nvidia-smi lists (none, with a warning, when it cannot run). */
    static List<GpuSupport.Gpu> gpus() {
        try {
            Process p = new ProcessBuilder(GpuSupport.QUERY).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                LOG.warn("nvidia-smi failed; the GPUs' compute capabilities are unchecked: {}", out.trim());
                return List.of();
            }
            return GpuSupport.parse(out.lines().toList());
        } catch (IOException e) {
            LOG.warn("no nvidia-smi on this host; the GPUs' compute capabilities are unchecked ({})", e.getMessage());
            return List.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        }
    }

    /** The GPUs CUDA_VISIBLE_DEVICES leaves (by index; a list of UUIDs or nothing leaves all). */
    static List<GpuSupport.Gpu> visible(List<GpuSupport.Gpu> gpus, String cudaVisibleDevices) {
        if (cudaVisibleDevices == null || !cudaVisibleDevices.trim().matches("[0-9]+(\\s*,\\s*[0-9]+)*")) {
            return gpus;
        }
        Set<String> keep = Arrays.stream(cudaVisibleDevices.split(",")).map(String::trim).collect(Collectors.toSet());
        return gpus.stream().filter(g -> keep.contains(g.index())).toList();
    }

    public static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown";
        }
    }
}
