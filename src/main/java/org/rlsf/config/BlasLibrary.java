package org.rlsf.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Which OpenBLAS library rlsf's own products call ({@code compute.blas-library}): the one ND4J bundles (JavaCPP's
 * 0.3.19 build, the default) or the host's ({@code libopenblas.so.0}, e.g. Debian's {@code libopenblas0-pthread}). One
 * thread, SkylakeX kernels, AMD Zen 4: Debian's 0.3.21 build ran isolated 16-row products at 98-116 GFLOP/s against
 * 66-81 for the bundled one (64 rows 166-169 against 132-133), yet batched decoding as a whole measured no faster in
 * paired runs; JavaCPP's own newer builds measured no faster either. The choice is JavaCPP's
 * {@code org.bytedeco.openblas.load} property, read once when OpenBLAS loads:
 * it is set here before ND4J starts (the driver when it reads its configuration, each executor when it starts, from
 * {@code spark.executorEnv.RLSF_BLAS_LIBRARY}). JavaCPP falls back to the bundled library when the host has none.
 */
public enum BlasLibrary {
    /** The host's OpenBLAS when it has one, else the bundled one. */
    AUTO,
    /** ND4J's bundled OpenBLAS. */
    BUNDLED,
    /** The host's OpenBLAS; a JVM on a host without one refuses to start. */
    SYSTEM;

    /** JavaCPP's system property naming the BLAS library to load instead of the bundled one. */
    public static final String PROPERTY = "org.bytedeco.openblas.load";
    /** How the setting reaches executors (spark.executorEnv) and jobs/rlsf's JVM. */
    public static final String VARIABLE = "RLSF_BLAS_LIBRARY";
    /** The host library's file name. */
    public static final String FILE = "libopenblas.so.0";

    public String configName() {
        return Require.configName(this);
    }

    public static BlasLibrary parse(String value) {
        return Require.choice("compute.blas-library", value, BlasLibrary.class);
    }

    /**
     * Sets {@link #PROPERTY} for this setting, before OpenBLAS loads (later it changes nothing). A property already set
     * (a {@code -D} on the command line) is left as it is.
     *
     * @throws IllegalStateException for {@code system} on a host without one, naming the host and what to install
     */
    public void apply(String host) {
        if (System.getProperty(PROPERTY) != null || this == BUNDLED) {
            return;
        }
        String value = choose(this, find(searchPath()), host);
        if (value != null) {
            System.setProperty(PROPERTY, value);
        }
    }

    /**
     * The property's value for {@code setting} given the host library {@code found}: "openblas" to load it, null for
     * the bundled one.
     */
    static String choose(BlasLibrary setting, Optional<Path> found, String host) {
        if (setting == BUNDLED) {
            return null;
        }
        if (found.isEmpty()) {
            if (setting == SYSTEM) {
                throw new IllegalStateException("compute.blas-library = system, but host " + host + " has no " + FILE
                        + " (searched " + searchPath() + "). Install the host's OpenBLAS (Debian/Ubuntu: apt-get install "
                        + "libopenblas0-pthread; RHEL: dnf install openblas) or set compute.blas-library to auto or bundled.");
            }
            return null;
        }
        return "openblas";
    }

    /** The first directory of {@code dirs} holding {@link #FILE}. */
    static Optional<Path> find(List<Path> dirs) {
        for (Path d : dirs) {
            Path f = d.resolve(FILE);
            if (Files.isReadable(f)) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }

    /** Where the dynamic linker and JavaCPP look: LD_LIBRARY_PATH, java.library.path, the system's library folders. */
    static List<Path> searchPath() {
        List<Path> dirs = new ArrayList<>();
        for (String list : new String[]{System.getenv("LD_LIBRARY_PATH"), System.getProperty("java.library.path")}) {
            if (list != null) {
                for (String d : list.split(java.io.File.pathSeparator)) {
                    if (!d.isBlank()) {
                        dirs.add(Path.of(d));
                    }
                }
            }
        }
        String arch = System.getProperty("os.arch", "");
        String multiarch = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64-linux-gnu"
                : arch.equals("aarch64") ? "aarch64-linux-gnu" : arch + "-linux-gnu";
        for (String d : new String[]{"/usr/lib/" + multiarch, "/lib/" + multiarch, "/usr/lib64", "/usr/lib", "/usr/local/lib"}) {
            dirs.add(Path.of(d));
        }
        return dirs;
    }

    /**
     * The OpenBLAS library this process has loaded, from its memory map: "system (path)" when JavaCPP copied the host's
     * library into its cache, "bundled (path)" for ND4J's, "not loaded" before OpenBLAS loads, "unknown" off Linux.
     */
    public static String loaded() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int slash = line.indexOf('/');
                if (slash < 0) {
                    continue;
                }
                String path = line.substring(slash);
                if (path.endsWith("/libopenblas.so.0") || path.endsWith("/libopenblas_nolapack.so.0")) {
                    return (path.contains("/org/bytedeco/openblas/") ? "bundled (" : "system (") + path + ")";
                }
            }
            return "not loaded";
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
