package dev.longbow.backend.cpu;

import dev.longbow.backend.Attention;

/**
 * Causal attention of one (token, head) pair per task over the KV cache. The reference kernels score every visible
 * key, softmax, then sum the values, as run.c does. The vector kernels go through the keys a block at a time with
 * a running maximum and denominator (flash attention's online softmax): the output accumulates unnormalised and is
 * rescaled when the maximum grows, so memory stays one block of scores however long the context.
 */
final class CpuAttention implements java.util.function.IntConsumer {
    /** Keys scored per step of the online softmax: the scratch it needs, whatever the context. */
    private static final int KEY_BLOCK = 64;

    private final CpuOps.Kernels kernels;
    private final ThreadLocal<float[]> scratch = ThreadLocal.withInitial(() -> new float[0]);
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

    @Override
    public void accept(int task) {
        int t = task / p.heads(), h = task % p.heads();
        int pos = startPos + t;
        int first = p.window() > 0 ? Math.max(0, pos - p.window() + 1) : 0;
        int qo = q.at(t) + h * p.headDim(), oo = out.at(t) + h * p.headDim();
        int kvHead = h / (p.heads() / p.kvHeads());
        if (kernels == CpuOps.Kernels.VECTOR) online(first, pos, qo, oo, kvHead);
        else reference(first, pos, qo, oo, kvHead);
    }

    private void reference(int first, int pos, int qo, int oo, int kvHead) {
        CpuKvCache c = cache;
        int hd = p.headDim();
        float scale = (float) Math.sqrt(hd) * p.temperature();
        float[] att = scratch(pos + 1), qd = q.data(), od = out.data();
        for (int s = first; s <= pos; s++) att[s] = c.dotKeyReference(qd, qo, layer, s, kvHead) / scale;
        CpuOps.softmax(att, first, pos + 1);
        for (int i = 0; i < hd; i++) od[oo + i] = 0.0f;
        for (int s = first; s <= pos; s++) c.addValueReference(att[s], layer, s, kvHead, od, oo);
    }

    private void online(int first, int pos, int qo, int oo, int kvHead) {
        CpuKvCache c = cache;
        int hd = p.headDim();
        float scale = (float) Math.sqrt(hd) * p.temperature();
        float[] scores = scratch(KEY_BLOCK), qd = q.data(), od = out.data();
        for (int i = 0; i < hd; i++) od[oo + i] = 0.0f;
        float max = Float.NEGATIVE_INFINITY, denominator = 0f;
        for (int s0 = first; s0 <= pos; s0 += KEY_BLOCK) {
            int count = Math.min(KEY_BLOCK, pos + 1 - s0);
            float blockMax = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < count; j++) {
                float score = c.dotKey(qd, qo, layer, s0 + j, kvHead) / scale;
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
                c.addValue(weight, layer, s0 + j, kvHead, od, oo);
            }
        }
        float inverse = 1f / denominator;
        for (int i = 0; i < hd; i++) od[oo + i] *= inverse;
    }
}
