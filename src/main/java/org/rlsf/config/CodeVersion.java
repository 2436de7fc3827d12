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
        try (InputStream in = CodeVersion.class.getResourceAsStream("/org/rlsf/version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown") + " (built " + p.getProperty("built", "?") + ")";
        } catch (IOException e) {
            return "unknown";
        }
    }
}
