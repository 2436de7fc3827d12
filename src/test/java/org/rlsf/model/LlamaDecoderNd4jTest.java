package org.rlsf.model;

import org.rlsf.config.ModelConfig;

/** The Llama / Mistral design on the ND4J decoding steps. Every test of {@link KvCacheDecoderTest}. */
class LlamaDecoderNd4jTest extends KvCacheDecoderTest {
    @Override
    KvCacheDecoder.Attention attention() {
        return KvCacheDecoder.Attention.ND4J;
    }

    @Override
    ModelConfig config() {
        return llama();
    }
}
