package dev.longbow.backend.cpu;

import dev.longbow.backend.Attention;
import dev.longbow.backend.SparseAttention;
import dev.longbow.backend.SparsePattern;

/**
 * Causal attention of one (token, head) pair per task over the KV cache. Each task first lists the keys its query
 * sees ({@link #visible}: the causal window, narrowed by a sparse pattern), then attends over exactly those. The
 * reference kernels score every visible key, softmax, then sum the values, as run.c does. The vector kernels go
 * through the keys a block at a time with a running maximum and denominator (flash attention's online softmax): the
 * output accumulates unnormalised and is rescaled when the maximum grows, so memory stays one block of scores
 * however long the context. Each task records how many keys it scored; the caller sums them after the parallel
 * section.
 * <p>
 * A query at p sees [0, sinks) and [p - window + 1, p] (everything up to p without a window). When the two ranges do
 * not meet, the sinks come first, their keys re-rotated by {@link SinkShift} so they sit just before the window.
 * <p>
 * The vector kernels take the query heads that share a KV head (grouped-query attention) in one task: they see the
 * same keys (unless LSH picks keys per query), so each block of keys and values is read from memory once for the
 * group and from L1 for the group's other heads. Each head's arithmetic is unchanged, so results are too.
 */
final class CpuAttention implements java.util.function.IntConsumer {
    /** Keys scored per step of the online softmax: the scratch it needs, whatever the context. */
    private static final int KEY_BLOCK = 64;

    /** One thread's working memory, reused by every task it runs. */
    private static final class Scratch {
        final KeySpans spans = new KeySpans();
        /** Runs of consecutive keys in the block being scored: the first key's position, and its index in the block. */
        final int[] segmentStart = new int[KEY_BLOCK], segmentFrom = new int[KEY_BLOCK];
        /** The reference kernels' scores of every visible key; the vector kernels' block of scores, KEY_BLOCK per head of the group. */
        float[] scores = new float[KEY_BLOCK];
        int[] cursors = new int[0];
        /** Per head of the group: the running maximum and denominator of the online softmax. */
        float[] max = new float[1], denominator = new float[1];
        /** Leading keys scored from {@link #sinkKeys} (re-rotated sinks) instead of the cache. */
        int sinks;
        float[] sinkKeys = new float[0];
    }

    private final CpuOps.Kernels kernels;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
    private final SinkShift sinkShift = new SinkShift();
    private CpuKvCache cache;
    private LshIndex lsh;
    private CpuAct out, q;
    private Attention p;
    private int layer, startPos, tokens;
    /** Query heads per task: a KV head's group for the vector kernels (but with LSH), else 1. */
    private int group;
    /** Keys scored by each task of the current call: written by one task each, summed after the parallel section. */
    private long[] scored = new long[0];

    CpuAttention(CpuOps.Kernels kernels) {
        this.kernels = kernels;
    }

    /** Prepares a call over {@code n} tokens: indexes the new keys when the pattern hashes them. */
    void set(CpuAct out, CpuAct q, CpuKvCache cache, int layer, Attention p, int startPos, int n) {
        this.out = out;
        this.q = q;
        this.cache = cache;
        this.layer = layer;
        this.p = p;
        this.startPos = startPos;
        this.tokens = n;
        this.group = kernels == CpuOps.Kernels.VECTOR && p.sparse().pattern() != SparsePattern.LSH ? p.heads() / p.kvHeads() : 1;
        if (scored.length < n * p.heads()) scored = new long[n * p.heads()];
        if (p.sparse().pattern() == SparsePattern.LSH) {
            lsh = cache.lsh(p.sparse());
            lsh.update(cache, layer, startPos, startPos + n);
        }
    }

    /** The tasks of the call {@link #set} prepared: one per token and head, or per token and group of heads. */
    int tasks() {
        return tokens * (p.heads() / group);
    }

    /** Keys scored by the first {@code tasks} tasks of the call just run. */
    long scored(int tasks) {
        long sum = 0;
        for (int i = 0; i < tasks; i++) sum += scored[i];
        return sum;
    }

    /** Readies the sinks' extra rotation for the n queries of this call; on the calling thread, before the tasks run. */
    void prepareSinks(int n) {
        sinkShift.prepare(p, startPos, n);
    }

    void clear() {
        cache = null;
        lsh = null;
        out = q = null;
        p = null;
    }

    /** The first {@code sinks} keys of {@code kvHead} as floats, rotated to sit just before query t's window. */
    private float[] sinkKeys(Scratch s, int t, int sinks, int kvHead) {
        int hd = p.headDim();
        if (s.sinkKeys.length < sinks * hd) s.sinkKeys = new float[sinks * hd];
        for (int j = 0; j < sinks; j++) {
            cache.readKey(layer, j, kvHead, s.sinkKeys, j * hd);
            sinkShift.rotate(t, s.sinkKeys, j * hd);
        }
        return s.sinkKeys;
    }

    @Override
    public void accept(int task) {
        // Tasks run head by head, a head's tokens in a row: a thread's consecutive tasks then read the same head's
        // keys and values, which stay in its cache (one head of 1,024 positions is 512 KB of F32 K and V).
        int h = task / tokens * group, t = task % tokens; // the first head of the task's group
        int pos = startPos + t;
        int first = p.window() > 0 ? Math.max(0, pos - p.window() + 1) : 0;
        int sinks = 0;
        if (first > 0 && p.sinks() > 0) {
            if (first <= p.sinks()) first = 0; // sinks and window meet: one range
            else sinks = p.sinks();
        }
        int qo = q.at(t) + h * p.headDim(), oo = out.at(t) + h * p.headDim();
        int kvHead = h / (p.heads() / p.kvHeads());
        Scratch s = scratch.get();
        s.sinks = sinks;
        if (sinks > 0) sinkKeys(s, t, sinks, kvHead);
        visible(pos, first, sinks, qo, kvHead, s);
        int keys = s.spans.keys();
        scored[task] = (long) keys * group;
        if (kernels == CpuOps.Kernels.VECTOR) online(s, qo, oo, kvHead);
        else reference(s, keys, qo, oo, kvHead);
    }

    /**
     * Lists in {@code s.spans} the keys the query at {@code pos} sees, ascending: the sinks, then from {@code first}
     * (the window's start) what the sparse pattern keeps.
     */
    private void visible(int pos, int first, int sinks, int qo, int kvHead, Scratch s) {
        KeySpans spans = s.spans;
        spans.clear();
        if (sinks > 0) spans.add(0, sinks);
        SparseAttention sparse = p.sparse();
        int block = sparse.block();
        switch (sparse.pattern()) {
            case NONE -> spans.add(first, pos + 1);
            case LOCAL_GLOBAL -> {
                int local = (int) Math.max(0, (long) (pos / block - sparse.localBlocks()) * block);
                int global = (int) Math.min((long) sparse.globalBlocks() * block, local);
                spans.add(first, global);
                spans.add(Math.max(first, local), pos + 1);
            }
            case LSH -> {
                int local = Math.max(first, pos / block * block);
                if (s.cursors.length < lsh.rounds()) s.cursors = new int[lsh.rounds()];
                lsh.gather(q.data(), qo, layer, kvHead, first, local, s.cursors, spans);
                spans.add(local, pos + 1);
            }
        }
    }

    private void reference(Scratch s, int keys, int qo, int oo, int kvHead) {
        CpuKvCache c = cache;
        KeySpans spans = s.spans;
        int hd = p.headDim();
        float scale = (float) Math.sqrt(hd) * p.temperature();
        if (s.scores.length < keys) s.scores = new float[Math.max(keys, 2 * s.scores.length)];
        float[] att = s.scores, qd = q.data(), od = out.data();
        int j = 0;
        for (int i = 0; i < spans.count(); i++) {
            for (int k = spans.start(i); k < spans.end(i); k++) att[j++] = (k < s.sinks ? sinkDotReference(qd, qo, s.sinkKeys, k * hd, hd) : c.dotKeyReference(qd, qo, layer, k, kvHead)) / scale;
        }
        CpuOps.softmax(att, 0, keys);
        for (int i = 0; i < hd; i++) od[oo + i] = 0.0f;
        j = 0;
        for (int i = 0; i < spans.count(); i++) {
            for (int k = spans.start(i); k < spans.end(i); k++) c.addValueReference(att[j++], layer, k, kvHead, od, oo);
        }
    }

    /** The group's heads (query and output at qo and oo, one head apart), a block of keys at a time for all of them. */
    private void online(Scratch s, int qo, int oo, int kvHead) {
        CpuKvCache c = cache;
        KeySpans spans = s.spans;
        int hd = p.headDim(), heads = group;
        float scale = (float) Math.sqrt(hd) * p.temperature();
        if (s.scores.length < heads * KEY_BLOCK) s.scores = new float[heads * KEY_BLOCK];
        if (s.max.length < heads) {
            s.max = new float[heads];
            s.denominator = new float[heads];
        }
        float[] scores = s.scores, qd = q.data(), od = out.data();
        int[] segmentStart = s.segmentStart, segmentFrom = s.segmentFrom;
        for (int i = 0; i < heads * hd; i++) od[oo + i] = 0.0f;
        java.util.Arrays.fill(s.max, 0, heads, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(s.denominator, 0, heads, 0f);
        // A block fills across ranges, as runs of consecutive keys (segments), so scattered keys (LSH) still fold 64
        // at a time, and a single range gives dense attention's blocks and loops.
        int filled = 0, segments = 0;
        for (int i = 0; i < spans.count(); i++) {
            for (int k = spans.start(i), end = spans.end(i); k < end; ) {
                int take = Math.min(KEY_BLOCK - filled, end - k);
                segmentStart[segments] = k;
                segmentFrom[segments++] = filled;
                // Re-rotated sinks first (always at the start of the first span), then the cache's keys as one run.
                int rotated = Math.min(take, Math.max(0, s.sinks - k));
                for (int g = 0; g < heads; g++) {
                    int at = g * KEY_BLOCK + filled, qg = qo + g * hd;
                    for (int j = 0; j < rotated; j++) scores[at + j] = VectorKernels.dot(qd, qg, s.sinkKeys, (k + j) * hd, hd) / scale;
                    if (rotated < take) c.dotKeys(qd, qg, layer, k + rotated, take - rotated, kvHead, scores, at + rotated);
                    for (int j = rotated; j < take; j++) scores[at + j] /= scale;
                }
                filled += take;
                k += take;
                if (filled == KEY_BLOCK) {
                    for (int g = 0; g < heads; g++) fold(s, g, filled, segments, oo + g * hd, kvHead);
                    filled = segments = 0;
                }
            }
        }
        if (filled > 0) for (int g = 0; g < heads; g++) fold(s, g, filled, segments, oo + g * hd, kvHead);
        for (int g = 0; g < heads; g++) {
            float inverse = 1f / s.denominator[g];
            for (int i = 0; i < hd; i++) od[oo + g * hd + i] *= inverse;
        }
    }

    /**
     * Folds head g's block of {@code count} scored keys (at g * KEY_BLOCK of the scores), in {@code segments} runs,
     * into its running maximum, denominator and output.
     */
    private void fold(Scratch s, int g, int count, int segments, int oo, int kvHead) {
        float[] scores = s.scores, od = out.data();
        int hd = p.headDim(), base = g * KEY_BLOCK;
        float blockMax = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < count; j++) blockMax = Math.max(blockMax, scores[base + j]);
        if (blockMax > s.max[g]) {
            float shrink = (float) Math.exp(s.max[g] - blockMax); // 0 on the first block
            if (shrink != 1f) for (int i = 0; i < hd; i++) od[oo + i] *= shrink;
            s.denominator[g] *= shrink;
            s.max[g] = blockMax;
        }
        float max = s.max[g], denominator = s.denominator[g];
        for (int seg = 0; seg < segments; seg++) {
            int from = s.segmentFrom[seg], to = seg + 1 < segments ? s.segmentFrom[seg + 1] : count, key = s.segmentStart[seg] - from;
            for (int j = from; j < to; j++) {
                float weight = (float) Math.exp(scores[base + j] - max);
                denominator += weight;
                scores[base + j] = weight;
            }
            cache.addValues(scores, base + from, to - from, layer, key + from, kvHead, od, oo);
        }
        s.denominator[g] = denominator;
    }

    /** q · a re-rotated sink key in run.c's order, as the cache's reference dot. */
    private static float sinkDotReference(float[] q, int qo, float[] k, int ko, int hd) {
        float score = 0.0f;
        for (int i = 0; i < hd; i++) score += q[qo + i] * k[ko + i];
        return score;
    }
}
