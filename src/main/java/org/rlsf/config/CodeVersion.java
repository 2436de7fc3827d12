package org.rlsf.config;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The code version recorded in lineage and manifests (Maven-filtered {@code version.properties}). */
public final class CodeVersion {
    private static final String VALUE = load();

    private CodeVersion() {
    }

    public static String get() {
        return VALUE;
    }

    private static String load() {
        Properties p = buildProperties();
        return p.isEmpty() ? "unknown" : p.getProperty("version", "unknown") + " (built " + p.getProperty("built", "?") + ")";
    }

    /** The Maven-filtered {@code version.properties} of this jar (empty when absent or unreadable). */
    static Properties buildProperties() {
        Properties p = new Properties();
        try (InputStream in = CodeVersion.class.getResourceAsStream("/org/rlsf/version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            p.clear();
        }
        return p;
    }
}
