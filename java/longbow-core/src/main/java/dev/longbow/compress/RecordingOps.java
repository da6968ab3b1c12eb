package dev.longbow.compress;

import dev.longbow.backend.Act;
import dev.longbow.backend.Attention;
import dev.longbow.backend.KvBlockPool;
import dev.longbow.backend.KvCache;
import dev.longbow.backend.KvType;
import dev.longbow.backend.Ops;
import dev.longbow.backend.Rope;
import dev.longbow.tensor.Tensor;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * A backend that computes with another and, on the way, records the inputs of chosen weight matrices: the forward
 * pass stays the one in {@link dev.longbow.model.Transformer}, and calibration sees exactly what each layer sees.
 * Calibration only; it copies every watched row.
 */
final class RecordingOps implements Ops {
    private final Ops inner;
    private final Map<Tensor, ActivationStats> watched = new IdentityHashMap<>();

    RecordingOps(Ops inner) {
        this.inner = inner;
    }

    ActivationStats watch(Tensor w, boolean withGram) {
        return watched.computeIfAbsent(w, t -> new ActivationStats(t.cols(), withGram));
    }

    @Override
    public void matmul(Act out, Act x, Tensor w, Tensor bias, int n) {
        ActivationStats s = watched.get(w);
        if (s != null) {
            float[] row = new float[x.cols()];
            for (int t = 0; t < n; t++) {
                inner.read(x, t, row);
                s.add(row);
            }
        }
        inner.matmul(out, x, w, bias, n);
    }

    @Override public String name() { return "recording " + inner.name(); }
    @Override public Act allocate(int rows, int cols) { return inner.allocate(rows, cols); }
    @Override public Act rowView(Act x, int row) { return inner.rowView(x, row); }
    @Override public KvCache allocateKvCache(int layers, int contextLength, int kvHeads, int headDim, KvType type) {
        return inner.allocateKvCache(layers, contextLength, kvHeads, headDim, type);
    }
    @Override public KvBlockPool allocateKvPool(int layers, int kvHeads, int headDim, KvType type, long budgetBytes) {
        return inner.allocateKvPool(layers, kvHeads, headDim, type, budgetBytes);
    }
    @Override public void embed(Act out, Tensor table, int[] tokens, int n) { inner.embed(out, table, tokens, n); }
    @Override public void rmsnorm(Act out, Act x, Tensor weight, float eps, int n) { inner.rmsnorm(out, x, weight, eps, n); }
    @Override public void rope(Act x, int heads, Rope rope, int startPos, int n) { inner.rope(x, heads, rope, startPos, n); }
    @Override public void storeKv(KvCache cache, int layer, Act k, Act v, int startPos, int n) { inner.storeKv(cache, layer, k, v, startPos, n); }
    @Override public void attention(Act out, Act q, KvCache cache, int layer, Attention params, int startPos, int n) {
        inner.attention(out, q, cache, layer, params, startPos, n);
    }
    @Override public void swiglu(Act gate, Act up, int n) { inner.swiglu(gate, up, n); }
    @Override public void add(Act x, Act y, int n) { inner.add(x, y, n); }
    @Override public void read(Act x, int row, float[] dst) { inner.read(x, row, dst); }
    @Override public void close() { }
}
