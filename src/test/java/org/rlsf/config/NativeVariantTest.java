package org.rlsf.config;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The natives' platform extension travels from the build (or the command line) to the executors. */
class NativeVariantTest {
    @Test
    void executorsGetTheExtensionInUseAndNothingForTheDefaultNatives() {
        String before = System.getProperty(NativeVariant.PROPERTY);
        try {
            System.clearProperty(NativeVariant.PROPERTY);
            String built = NativeVariant.built();
            assertEquals(built.isEmpty() ? "" : "-D" + NativeVariant.PROPERTY + "=" + built, NativeVariant.executorJavaOption());
            System.setProperty(NativeVariant.PROPERTY, "-onednn-avx2");   // given on the command line: it wins
            NativeVariant.select();
            assertEquals("-onednn-avx2", System.getProperty(NativeVariant.PROPERTY));
            assertEquals("-D" + NativeVariant.PROPERTY + "=-onednn-avx2", NativeVariant.executorJavaOption());
        } finally {
            if (before == null) {
                System.clearProperty(NativeVariant.PROPERTY);
            } else {
                System.setProperty(NativeVariant.PROPERTY, before);
            }
        }
    }
}
