package dev.longbow.model;

/**
 * Which dimensions of a head RoPE rotates together. The two layouts are the same model with q/k rows permuted,
 * so each source is run in its own layout rather than copying weights to convert at load time.
 */
public enum RotaryLayout {
    /** Pairs (2i, 2i+1): llama2.c, Meta's checkpoints, GGUF "llama". */
    INTERLEAVED,
    /** Pairs (i, i + d/2): Hugging Face transformers, GGUF "qwen2" (NEOX style). */
    HALF_SPLIT
}
