package dev.longbow.backend.cpu;

import dev.longbow.backend.Attention;

/**
 * Causal attention of one (token, head) pair per task over the KV cache. The reference kernels score every visible
 * key, softmax, then sum the values, as run.c does. The vector kernels go through the keys a block at a time with
 * a running maximum and denominator (flash attention's online softmax): the output accumulates unnormalised and is
 * rescaled when the maximum grows, so memory stays one block of scores however long the context.
 * <p>
 * A query at p sees [0, sinks) and [p - window + 1, p] (everything up to p without a window). When the two ranges do
 * not meet, the sinks come first, their keys re-rotated by {@link SinkShift}, then the window, through the same
 * softmax: visible keys are numbered v = 0 .. sinks + window - 1, and without a gap there are no separate sinks.
 */
final class CpuAttention implements java.util.function.IntConsumer {
    /** Keys scored per step of the online softmax: the scratch it needs, whatever the context. */
    private static final int KEY_BLOCK = 64;

    private final CpuOps.Kernels kernels;
    private final ThreadLocal<float[]> scratch = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> sinkKeys = ThreadLocal.withInitial(() -> new float[0]);
    private final SinkShift sinkShift = new SinkShift();
    private CpuKvCache cache;
    private CpuAct out, q;
    private Attention p;
    private int layer, startPos;

    CpuAttention(CpuOps.Kernels kernels) {
        this.kernels = kernels;
    }

    void set(CpuAct out, CpuAct q, CpuKvCache cache, int layer, Attention p, int startPos) {
        this.out = out;
        this.q = q;
        this.cache = cache;
        this.layer = layer;
        this.p = p;
        this.startPos = startPos;
    }

    /** Readies the sinks' extra rotation for the n queries of this call; on the calling thread, before the tasks run. */
    void prepareSinks(int n) {
        sinkShift.prepare(p, startPos, n);
    }

    void clear() {
        cache = null;
        out = q = null;
        p = null;
    }

    private float[] scratch(int n) {
        float[] s = scratch.get();
        if (s.length < n) {
            s = new float[n];
            scratch.set(s);
        }
        return s;
    }

    /** The first {@code sinks} keys of {@code kvHead} as floats, rotated to sit just before query t's window. */
    private float[] sinkKeys(int t, int sinks, int kvHead) {
        int hd = p.headDim();
        float[] k = sinkKeys.get();
        if (k.length < sinks * hd) sinkKeys.set(k = new float[sinks * hd]);
        for (int j = 0; j < sinks; j++) {
            cache.readKey(layer, j, kvHead, k, j * hd);
            sinkShift.rotate(t, k, j * hd);
        }
        return k;
    }

    @Override
    public void accept(int task) {
        int t = task / p.heads(), h = task % p.heads();
        int pos = startPos + t;
        int first = p.window() > 0 ? Math.max(0, pos - p.window() + 1) : 0;
        int sinks = 0;
        if (first > 0 && p.sinks() > 0) {
            if (first <= p.sinks()) first = 0; // sinks and window meet: one range
            else sinks = p.sinks();
        }
        int qo = q.at(t) + h * p.headDim(), oo = out.at(t) + h * p.headDim();
        int kvHead = h / (p.heads() / p.kvHeads());
        float[] sinkKeys = sinks > 0 ? sinkKeys(t, sinks, kvHead) : null;
        if (kernels == CpuOps.Kernels.VECTOR) online(first, pos, sinks, sinkKeys, qo, oo, kvHead);
        else reference(first, pos, sinks, sinkKeys, qo, oo, kvHead);
    }

    private void reference(int first, int pos, int sinks, float[] sinkKeys, int qo, int oo, int kvHead) {
        CpuKvCache c = cache;
        int hd = p.headDim(), total = sinks + pos + 1 - first;
        float scale = (float) Math.sqrt(hd) * p.temperature();
        float[] att = scratch(total), qd = q.data(), od = out.data();
        for (int j = 0; j < sinks; j++) {
            float score = 0.0f;
            for (int i = 0; i < hd; i++) score += qd[qo + i] * sinkKeys[j * hd + i];
            att[j] = score / scale;
        }
        for (int s = first; s <= pos; s++) att[sinks + s - first] = c.dotKeyReference(qd, qo, layer, s, kvHead) / scale;
        CpuOps.softmax(att, 0, total);
        for (int i = 0; i < hd; i++) od[oo + i] = 0.0f;
        for (int j = 0; j < sinks; j++) c.addValueReference(att[j], layer, j, kvHead, od, oo);
        for (int s = first; s <= pos; s++) c.addValueReference(att[sinks + s - first], layer, s, kvHead, od, oo);
    }

    private void online(int first, int pos, int sinks, float[] sinkKeys, int qo, int oo, int kvHead) {
        CpuKvCache c = cache;
        int hd = p.headDim(), total = sinks + pos + 1 - first;
        float scale = (float) Math.sqrt(hd) * p.temperature();
        float[] scores = scratch(KEY_BLOCK), qd = q.data(), od = out.data();
        for (int i = 0; i < hd; i++) od[oo + i] = 0.0f;
        float max = Float.NEGATIVE_INFINITY, denominator = 0f;
        for (int v0 = 0; v0 < total; v0 += KEY_BLOCK) {
            int count = Math.min(KEY_BLOCK, total - v0);
            float blockMax = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < count; j++) {
                int v = v0 + j;
                float score = (v < sinks ? VectorKernels.dot(qd, qo, sinkKeys, v * hd, hd) : c.dotKey(qd, qo, layer, first + v - sinks, kvHead)) / scale;
                scores[j] = score;
                blockMax = Math.max(blockMax, score);
            }
            if (blockMax > max) {
                float shrink = (float) Math.exp(max - blockMax); // 0 on the first block
                if (shrink != 1f) for (int i = 0; i < hd; i++) od[oo + i] *= shrink;
                denominator *= shrink;
                max = blockMax;
            }
            for (int j = 0; j < count; j++) {
                float weight = (float) Math.exp(scores[j] - max);
                denominator += weight;
                int v = v0 + j;
                c.addValue(weight, layer, v < sinks ? v : first + v - sinks, kvHead, od, oo);
            }
        }
        float inverse = 1f / denominator;
        for (int i = 0; i < hd; i++) od[oo + i] *= inverse;
    }
}
