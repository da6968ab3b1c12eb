package dev.longbow.backend;

/**
 * Attention shape and which keys each query sees. Query heads share key/value heads in groups (GQA).
 * {@code window} > 0 limits each query to that many most recent positions (itself included), as Mistral does;
 * {@code sinks} first positions stay visible whatever the window (StreamingLLM). Scores are divided by
 * sqrt(headDim) * {@code temperature}. {@code sparse} narrows what each query sees further (block-sparse patterns).
 * {@code rope} is the rotary table the cached keys were rotated with: with sinks and a window, a sink key is rotated
 * further at attention time so that it sits just before the window (null: no rotary embedding, sinks are seen where
 * they are).
 */
public record Attention(int heads, int kvHeads, int headDim, int window, int sinks, float temperature, SparseAttention sparse, Rope rope) {
    public Attention(int heads, int kvHeads, int headDim, int window) {
        this(heads, kvHeads, headDim, window, 0, 1f, SparseAttention.NONE, null);
    }

    public Attention(int heads, int kvHeads, int headDim, int window, int sinks, float temperature, SparseAttention sparse) {
        this(heads, kvHeads, headDim, window, sinks, temperature, sparse, null);
    }

    public Attention {
        if (sparse == null) sparse = SparseAttention.NONE;
    }

    public Attention withSparse(SparseAttention s) {
        return new Attention(heads, kvHeads, headDim, window, sinks, temperature, s, rope);
    }

    public Attention withTemperature(float t) {
        return new Attention(heads, kvHeads, headDim, window, sinks, t, sparse, rope);
    }

    public Attention withRope(Rope r) {
        return new Attention(heads, kvHeads, headDim, window, sinks, temperature, sparse, r);
    }

    /** Whether memory stays bounded however long the sequence: a window, and sinks kept at a fixed distance before it. */
    public boolean streaming() {
        return window > 0 && sinks > 0;
    }
}
