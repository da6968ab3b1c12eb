package dev.longbow.backend;

import dev.longbow.tensor.Tensor;

/**
 * The operations the forward pass is written against; each backend (CPU, CUDA) implements them its own way.
 * Activations are {@link Act} matrices of {@code rows} tokens by {@code cols} features, owned by the backend;
 * every op works on the first {@code n} rows, so one set of buffers serves chunks of any size up to their capacity.
 */
public interface Ops extends AutoCloseable {
    String name();

    Act allocate(int rows, int cols);

    /** A one-row view of row {@code row} of x, sharing its memory. */
    Act rowView(Act x, int row);

    /**
     * A cache for up to {@code contextLength} positions of {@code kvHeads} heads of {@code headDim} keys and values per
     * layer, stored as {@code type}; memory is reserved as positions are written (see {@link KvCache}).
     */
    KvCache allocateKvCache(int layers, int contextLength, int kvHeads, int headDim, KvType type);

    /**
     * A pool of KV blocks for the caches of many sequences, holding at most {@code budgetBytes} (see {@link KvBlockPool}):
     * what a scheduler uses to share prompt prefixes and to bound the memory of the whole batch.
     */
    KvBlockPool allocateKvPool(int layers, int kvHeads, int headDim, KvType type, long budgetBytes);

    /** out[t] = table[tokens[t]]. */
    void embed(Act out, Tensor table, int[] tokens, int n);

    /** out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight. */
    void rmsnorm(Act out, Act x, Tensor weight, float eps, int n);

    /** out[t] = W x[t] (+ bias when not null), W of shape {out.cols, x.cols}. */
    void matmul(Act out, Act x, Tensor w, Tensor bias, int n);

    /**
     * Three matrices applied to the same input (q, k and v), or two with the third triple null: the results of as
     * many matmul calls, which a backend may compute in one pass over its threads with the input prepared once.
     */
    default void matmuls(Act x, int n, Act out0, Tensor w0, Tensor bias0, Act out1, Tensor w1, Tensor bias1, Act out2, Tensor w2, Tensor bias2) {
        matmul(out0, x, w0, bias0, n);
        matmul(out1, x, w1, bias1, n);
        if (out2 != null) matmul(out2, x, w2, bias2, n);
    }

    /** Two matrices applied to the same input (the feed-forward gate and up): {@link #matmuls} with two. */
    default void matmuls(Act x, int n, Act out0, Tensor w0, Act out1, Tensor w1) {
        matmuls(x, n, out0, w0, null, out1, w1, null, null, null, null);
    }

    /** Rotates each head of x[t] by the angles of position startPos + t. */
    void rope(Act x, int heads, Rope rope, int startPos, int n);

    /** Stores k[t] and v[t] as the keys and values of positions startPos + t in {@code layer}. */
    void storeKv(KvCache cache, int layer, Act k, Act v, int startPos, int n);

    /** Causal attention of queries q[t] at positions startPos + t over the cached keys and values of {@code layer}. */
    void attention(Act out, Act q, KvCache cache, int layer, Attention params, int startPos, int n);

    /** gate[t] = silu(gate[t]) * up[t]. */
    void swiglu(Act gate, Act up, int n);

    /** x[t] += y[t]. */
    void add(Act x, Act y, int n);

    /** Copies row {@code row} of x to the host. */
    void read(Act x, int row, float[] dst);

    @Override
    void close();
}
