package org.rlsf.model;

import org.rlsf.config.ModelConfig;

/** The Qwen2 design on the heap decoding steps. Every test of {@link KvCacheDecoderTest}. */
class Qwen2DecoderTest extends KvCacheDecoderTest {
    @Override
    ModelConfig config() {
        return qwen2();
    }
}
