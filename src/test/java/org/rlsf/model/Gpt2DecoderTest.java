package org.rlsf.model;

import org.rlsf.config.ModelConfig;

/** The GPT-2 design (no head bias) on the heap decoding steps. Every test of {@link KvCacheDecoderTest}. */
class Gpt2DecoderTest extends KvCacheDecoderTest {
    @Override
    ModelConfig config() {
        return gpt2();
    }
}
