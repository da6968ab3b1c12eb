package dev.longbow.backend;

/**
 * Attention shape and which keys each query sees. Query heads share key/value heads in groups (GQA).
 * {@code window} > 0 limits each query to that many most recent positions (itself included), as Mistral does;
 * {@code sinks} first positions stay visible whatever the window (StreamingLLM). Scores are divided by
 * sqrt(headDim) * {@code temperature}. {@code sparse} narrows what each query sees further (block-sparse patterns).
 */
public record Attention(int heads, int kvHeads, int headDim, int window, int sinks, float temperature, SparseAttention sparse) {
    public Attention(int heads, int kvHeads, int headDim, int window) {
        this(heads, kvHeads, headDim, window, 0, 1f, SparseAttention.NONE);
    }

    public Attention {
        if (sparse == null) sparse = SparseAttention.NONE;
    }

    public Attention withSparse(SparseAttention s) {
        return new Attention(heads, kvHeads, headDim, window, sinks, temperature, s);
    }

    public Attention withTemperature(float t) {
        return new Attention(heads, kvHeads, headDim, window, sinks, t, sparse);
    }
}
