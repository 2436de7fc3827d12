package org.rlsf.model;

import org.rlsf.config.ModelConfig;

/** The Llama / Mistral design on the heap decoding steps. Every test of {@link KvCacheDecoderTest}. */
class LlamaDecoderTest extends KvCacheDecoderTest {
    @Override
    ModelConfig config() {
        return llama();
    }
}
