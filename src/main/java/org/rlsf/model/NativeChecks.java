package org.rlsf.model;

import org.rlsf.config.BlasKernels;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Start-up checks of this JVM's native math, run once per JVM before its first product: on the driver when a command
 * loads its configuration, on an executor when it starts (the Spark plugin {@code org.rlsf.io.ExecutorChecks}) and
 * before its first model loads.
 */
public final class NativeChecks {
    private static volatile boolean checked;

    private NativeChecks() {
    }

    /**
     * Refuses an OpenBLAS kernel set ({@code OPENBLAS_CORETYPE}) this CPU cannot run.
     *
     * @throws IllegalStateException naming the host, the CPU, the kernel set and the instructions it lacks
     */
    public static void requireRunnableBlasKernels() {
        if (checked) {
            return;
        }
        BlasKernels.requireRunnable(System.getenv(BlasKernels.VARIABLE), BlasKernels.cpu(), host());
        checked = true;
    }

    static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown";
        }
    }
}
