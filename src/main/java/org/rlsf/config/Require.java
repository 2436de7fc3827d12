package org.rlsf.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Validation for the configuration records: every failure names the full key ({@code rlsf.section.key}), the allowed
 * range or values, and the value found, so a bad setting fails when the configuration loads, before any Spark job.
 */
final class Require {
    private Require() {
    }

    /** @throws IllegalArgumentException "rlsf.{key} must be {rule}, was {value}" unless {@code ok} */
    static void that(boolean ok, String key, String rule, Object value) {
        if (!ok) {
            throw new IllegalArgumentException("rlsf." + key + " must be " + rule + ", was " + value);
        }
    }

    /** The constant of {@code type} whose {@link #configName} is {@code value}. */
    static <E extends Enum<E>> E choice(String key, String value, Class<E> type) {
        for (E e : type.getEnumConstants()) {
            if (configName(e).equals(value.trim().toLowerCase(Locale.ROOT))) {
                return e;
            }
        }
        throw new IllegalArgumentException("rlsf." + key + " must be one of " + Arrays.stream(type.getEnumConstants())
                .map(Require::configName).collect(Collectors.joining(" | ")) + ", was \"" + value + "\"");
    }

    /** How a mode is written in the configuration: its name in lower case, words joined by '-'. */
    static String configName(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
