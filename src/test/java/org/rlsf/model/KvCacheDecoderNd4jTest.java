package org.rlsf.model;

/** rlsf's own design with ND4J decoding steps (what CUDA runs). Every test of {@link KvCacheDecoderTest}. */
class KvCacheDecoderNd4jTest extends KvCacheDecoderTest {
    @Override
    KvCacheDecoder.Attention attention() {
        return KvCacheDecoder.Attention.ND4J;
    }
}
