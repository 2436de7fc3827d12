package org.rlsf.config;

/**
 * What kind of decoder-only transformer a {@link ModelConfig} describes, beyond its sizes: the choices that tell
 * rlsf's own model (GPT-2-like: LayerNorm, learned positions, tanh-GELU MLP, biases everywhere) from the Llama,
 * Qwen2 and Mistral families (RMSNorm, rotary positions, SwiGLU MLP, grouped-query attention, few or no biases).
 *
 * @param norm        LayerNorm (gain and bias) or RMSNorm (gain only), before each sub-layer and after the last block
 * @param positions   a learned absolute position table added to the token embeddings, or rotary positions on q and k
 * @param mlp         {@code GELU_TANH}: w2·gelu(w1·x + b1) + b2; {@code SWIGLU}: down(silu(gate·x) ⊙ up·x)
 * @param kvHeads     key/value heads (grouped-query attention); 0 means as many as query heads
 * @param qkvBias     the q, k and v projections have biases (rlsf, GPT-2, Qwen2)
 * @param outBias     the attention output projection has a bias (rlsf, GPT-2)
 * @param mlpBias     the MLP projections have biases (rlsf, GPT-2)
 * @param headBias    the output head has a bias (rlsf only; Hugging Face heads have none)
 * @param ropeTheta   the rotary base ({@code rope_theta}), used with {@code ROPE}
 * @param ropeScaling Llama 3's frequency scaling ({@code rope_scaling} type {@code llama3}), or null for none
 */
public record Architecture(Norm norm, Positions positions, Mlp mlp, int kvHeads, boolean qkvBias, boolean outBias,
                           boolean mlpBias, boolean headBias, double ropeTheta, RopeScaling ropeScaling) {
    public enum Norm { LAYER, RMS }

    public enum Positions { LEARNED, ROPE }

    public enum Mlp { GELU_TANH, SWIGLU }

    /** rlsf's own model (and, with {@code headBias} false, GPT-2's). */
    public static final Architecture CLASSIC = new Architecture(Norm.LAYER, Positions.LEARNED, Mlp.GELU_TANH, 0,
            true, true, true, true, 10000, null);

    public Architecture {
        if (norm == null || positions == null || mlp == null) {
            throw new IllegalArgumentException("architecture needs norm, positions and mlp");
        }
        if (kvHeads < 0) {
            throw new IllegalArgumentException("kv-heads must be >= 0, was " + kvHeads);
        }
        if (positions == Positions.ROPE && !(ropeTheta > 1)) {
            throw new IllegalArgumentException("rope-theta must be > 1, was " + ropeTheta);
        }
    }

    /** Llama-family blocks (Llama 2/3, TinyLlama, SmolLM, Mistral; Qwen2 with {@code qkvBias}). */
    public static Architecture llama(int kvHeads, double ropeTheta, RopeScaling scaling, boolean qkvBias,
                                     boolean outBias, boolean mlpBias) {
        return new Architecture(Norm.RMS, Positions.ROPE, Mlp.SWIGLU, kvHeads, qkvBias, outBias, mlpBias, false,
                ropeTheta, scaling);
    }

    /** GPT-2: rlsf's blocks with a head that has no bias. */
    public static Architecture gpt2() {
        return new Architecture(Norm.LAYER, Positions.LEARNED, Mlp.GELU_TANH, 0, true, true, true, false, 10000, null);
    }

    /**
     * Llama 3's rotary frequency scaling ({@code rope_scaling: {rope_type: llama3, factor, low_freq_factor,
     * high_freq_factor, original_max_position_embeddings}}).
     */
    public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
        public RopeScaling {
            if (!(factor >= 1) || !(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || originalMaxPositions <= 0) {
                throw new IllegalArgumentException("rope_scaling llama3 needs factor >= 1, 0 < low_freq_factor < "
                        + "high_freq_factor and original_max_position_embeddings > 0, was " + this);
            }
        }
    }

    /**
     * The rotary angle of {@code position} at inverse frequency {@code invFreq}, rounded as Hugging Face computes it
     * (float32 product); the training graph's tables and the decoder's take their cos and sin from it.
     */
    public static double rotaryAngle(int position, double invFreq) {
        return (float) ((float) position * (float) invFreq);
    }

    /**
     * The rotary inverse frequencies θ^(−2i/dh) for i < dh/2, with Llama 3's scaling when configured: wavelengths
     * longer than {@code original/low} are divided by {@code factor}, shorter than {@code original/high} kept, and
     * the band between interpolated (as Hugging Face's {@code _compute_llama3_parameters}). Computed in float32 as
     * Hugging Face does, so the angles agree to the bit at the positions a model sees.
     */
    public double[] inverseFrequencies(int headDim) {
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("rotary positions need an even head dimension, was " + headDim);
        }
        double[] inv = new double[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            float exponent = (float) (2 * i) / headDim;
            inv[i] = (float) (1.0f / (float) Math.pow(ropeTheta, exponent));
        }
        if (ropeScaling == null) {
            return inv;
        }
        RopeScaling s = ropeScaling;
        double lowWavelen = s.originalMaxPositions() / s.lowFreqFactor();
        double highWavelen = s.originalMaxPositions() / s.highFreqFactor();
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowWavelen) {
                inv[i] = (float) (inv[i] / s.factor());
            } else if (wavelen >= highWavelen) {
                double smooth = (s.originalMaxPositions() / wavelen - s.lowFreqFactor())
                        / (s.highFreqFactor() - s.lowFreqFactor());
                inv[i] = (float) ((1 - smooth) * inv[i] / s.factor() + smooth * inv[i]);
            }
        }
        return inv;
    }
}
