package dev.longbow.backend;

import dev.longbow.model.RotaryLayout;

/**
 * Rotary embedding parameters: the inverse frequency of each rotated pair, which dimensions pair up, and the factor
 * cos and sin are multiplied by (YaRN's and LongRoPE's attention factor, as Hugging Face applies it; 1 otherwise).
 */
public record Rope(float[] inverseFrequencies, int headDim, RotaryLayout layout, float attentionFactor) {
    public Rope(float[] inverseFrequencies, int headDim, RotaryLayout layout) {
        this(inverseFrequencies, headDim, layout, 1f);
    }
}
