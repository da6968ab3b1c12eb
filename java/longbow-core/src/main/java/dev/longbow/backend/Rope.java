package dev.longbow.backend;

import dev.longbow.model.RotaryLayout;

/**
 * Rotary embedding parameters: the inverse frequency of each rotated pair, which dimensions pair up, and the factor
 * cos and sin are multiplied by (YaRN's and LongRoPE's attention factor, as Hugging Face applies it; 1 otherwise).
 */
public record Rope(float[] inverseFrequencies, int headDim, RotaryLayout layout, float attentionFactor) {
    /**
     * From here on the angle pos * invFreq is formed in double: a float product is off by up to half an ulp of the
     * angle, 0.004 rad at 2^16 and growing with the position, which streaming generation reaches. Below it the
     * float product is kept, as run.c forms it (the reference kernels are token-exact with run.c).
     */
    public static final int DOUBLE_ANGLE_POSITION = 1 << 16;

    public Rope(float[] inverseFrequencies, int headDim, RotaryLayout layout) {
        this(inverseFrequencies, headDim, layout, 1f);
    }

    /** The rotation angle of pair {@code pair} at position {@code pos}. */
    public double angle(long pos, int pair) {
        float inv = inverseFrequencies[pair];
        return pos < DOUBLE_ANGLE_POSITION ? (float) pos * inv : pos * (double) inv;
    }
}
