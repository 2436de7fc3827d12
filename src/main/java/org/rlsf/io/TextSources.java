package org.rlsf.io;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * Opens text inputs named by a URI/path (through {@link FileStore}) or {@code builtin:NAME} for the
 * corpora shipped in the jar under {@code org/rlsf/corpora/NAME.jsonl}.
 */
public final class TextSources {
    public static final String BUILTIN = "builtin:";

    private TextSources() {
    }

    public static BufferedReader open(FileStore store, String spec) {
        if (spec.startsWith(BUILTIN)) {
            String name = spec.substring(BUILTIN.length());
            InputStream in = TextSources.class.getResourceAsStream("/org/rlsf/corpora/" + name + ".jsonl");
            if (in == null) {
                throw new IllegalArgumentException("no built-in corpus named '" + name + "'");
            }
            return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        }
        return store.openText(FileStore.path(spec));
    }

    /** The name a reader should report in error messages (keeps the format suffix for built-ins). */
    public static String displayName(String spec) {
        return spec.startsWith(BUILTIN) ? spec + ".jsonl" : spec;
    }
}
