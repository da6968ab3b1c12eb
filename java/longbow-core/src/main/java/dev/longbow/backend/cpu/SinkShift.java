package dev.longbow.backend.cpu;

import dev.longbow.backend.Attention;
import dev.longbow.backend.Rope;
import dev.longbow.model.RotaryLayout;

/**
 * StreamingLLM's position handling for attention sinks. Queries and window keys keep their absolute rotations (RoPE
 * scores depend only on the distance, which within the window stays below it), but once positions between the sinks
 * and the window have been dropped, a sink key must look as if it sat just before the window: for a query at p with
 * window W and N sinks, sink s is seen at p - W + 1 - N + s, so its stored key (rotated by s) is rotated further by
 * shift = p - W + 1 - N. Rotations compose, so the keys are stored as any other and the extra rotation is applied at
 * attention time into per-thread scratch: N keys per (query, head), a few multiply-adds each beside the window's
 * W dot products, and no second copy of the sinks to keep in step with the cache's storage type.
 * <p>
 * cos and sin of each query's shift are computed once per attention call, single-threaded, and reused across the
 * layers of the same tokens. Not thread-safe to {@link #prepare}; {@link #rotate} may run on any thread after it.
 */
final class SinkShift {
    private float[] table = new float[0]; // per token t: cos of each pair at [t * headDim, + half), sin at [+ half, + headDim)
    private Rope rope;
    private int startPos = -1, n, window, sinks;

    /** The rotary shift the sinks of query {@code pos} need; 0 or less when nothing between them and the window was dropped. */
    static int shift(int pos, int window, int sinks) {
        return pos - window + 1 - sinks;
    }

    /** Fills the cos/sin table for queries at startPos .. startPos + n - 1, unless it already holds it. */
    void prepare(Attention p, int startPos, int n) {
        Rope r = p.rope();
        if (r == null || !p.streaming()) {
            rope = null;
            this.startPos = -1;
            return;
        }
        if (r == rope && startPos == this.startPos && n == this.n && p.window() == window && p.sinks() == sinks) return;
        int hd = r.headDim(), half = hd / 2;
        if (table.length < n * hd) table = new float[n * hd];
        for (int t = 0; t < n; t++) {
            int shift = shift(startPos + t, p.window(), p.sinks());
            for (int i = 0; i < half && shift > 0; i++) {
                double angle = r.angle(shift, i);
                table[t * hd + i] = (float) Math.cos(angle);
                table[t * hd + half + i] = (float) Math.sin(angle);
            }
        }
        rope = r;
        this.startPos = startPos;
        this.n = n;
        window = p.window();
        sinks = p.sinks();
    }

    /**
     * Rotates the key in x[off, off + headDim) by query {@code t}'s shift: a pure rotation (the attention factor was
     * applied when the key was stored). Does nothing without a rotary table.
     */
    void rotate(int t, float[] x, int off) {
        Rope r = rope;
        if (r == null) return;
        int hd = r.headDim(), half = hd / 2, base = t * hd;
        boolean interleaved = r.layout() == RotaryLayout.INTERLEAVED;
        for (int i = 0; i < half; i++) {
            int i0 = interleaved ? off + 2 * i : off + i;
            int i1 = interleaved ? i0 + 1 : i0 + half;
            float v0 = x[i0], v1 = x[i1];
            float c = table[base + i], s = table[base + half + i];
            x[i0] = v0 * c - v1 * s;
            x[i1] = v0 * s + v1 * c;
        }
    }
}
