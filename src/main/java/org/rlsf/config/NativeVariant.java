package org.rlsf.config;

/**
 * Which build of ND4J's CPU natives this jar was packaged with. The default build has none; {@code mvn -Ponednn}
 * packages the oneDNN + AVX2 natives, which JavaCPP only loads when the platform extension is set before ND4J
 * starts. {@link #select()} sets it from the Maven-filtered {@code version.properties} (never overriding a value
 * given on the command line), and {@link #executorJavaOption()} is what Spark executors need to do the same.
 */
public final class NativeVariant {
    public static final String PROPERTY = "org.bytedeco.javacpp.platform.extension";
    private static final String BUILT = load();

    private NativeVariant() {
    }

    /** The extension the jar was built with ("" for the default natives). */
    public static String built() {
        return BUILT;
    }

    /** Call before anything touches ND4J: selects the natives the jar was built with. */
    public static void select() {
        if (!BUILT.isEmpty() && System.getProperty(PROPERTY) == null) {
            System.setProperty(PROPERTY, BUILT);
        }
    }

    /** The extension of the natives in use: the command line's, else the build's ("" for the default natives). */
    public static String inUse() {
        String ext = System.getProperty(PROPERTY, BUILT);
        return ext == null ? "" : ext.trim();
    }

    /** {@code -D} option for executor JVMs, or "" when the default natives are in use. */
    public static String executorJavaOption() {
        String ext = inUse();
        return ext.isEmpty() ? "" : "-D" + PROPERTY + "=" + ext;
    }

    private static String load() {
        String ext = CodeVersion.buildProperties().getProperty("native.extension", "").trim();
        return ext.startsWith("${") ? "" : ext;
    }
}
