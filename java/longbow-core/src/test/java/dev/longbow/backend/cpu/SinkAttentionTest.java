package dev.longbow.backend.cpu;

import dev.longbow.Logits;
import dev.longbow.TestData;
import dev.longbow.backend.Attention;
import dev.longbow.backend.KvCache;
import dev.longbow.backend.KvType;
import dev.longbow.backend.Rope;
import dev.longbow.backend.SparseAttention;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.model.ContextOptions;
import dev.longbow.model.RotaryLayout;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Attention sinks with a sliding window: a query at p sees [0, sinks) and [p - window + 1, p], and a sink key counts
 * as if it sat just before the window (StreamingLLM). Checked against the definition in double precision, with the
 * rotations applied to unrotated keys directly, in both rotary layouts and at positions past where angles go double.
 */
class SinkAttentionTest {
    private static final int HEADS = 4, KV_HEADS = 2, HEAD_DIM = 16, KV_DIM = KV_HEADS * HEAD_DIM, Q_DIM = HEADS * HEAD_DIM;

    private static Rope rope(RotaryLayout layout) {
        float[] inv = new float[HEAD_DIM / 2];
        for (int i = 0; i < inv.length; i++) inv[i] = (float) Math.pow(10000, -2.0 * i / HEAD_DIM);
        return new Rope(inv, HEAD_DIM, layout);
    }

    private static float[] gaussian(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    /** One head of x rotated by position pos, in double. */
    private static double[] rotated(float[] x, int off, Rope rope, long pos) {
        double[] out = new double[HEAD_DIM];
        for (int i = 0; i < HEAD_DIM; i++) out[i] = x[off + i];
        int half = HEAD_DIM / 2;
        for (int i = 0; i < half; i++) {
            int a = rope.layout() == RotaryLayout.INTERLEAVED ? 2 * i : i, b = rope.layout() == RotaryLayout.INTERLEAVED ? a + 1 : a + half;
            double theta = pos * (double) rope.inverseFrequencies()[i], x0 = out[a], x1 = out[b];
            out[a] = x0 * Math.cos(theta) - x1 * Math.sin(theta);
            out[b] = x0 * Math.sin(theta) + x1 * Math.cos(theta);
        }
        return out;
    }

    /**
     * Keys and values for the sinks and for the window before query positions p0 .. p0 + n - 1, and the queries;
     * stored and rotated through the ops, then compared with the definition computed from the unrotated vectors.
     */
    private static void checkAgainstDefinition(CpuOps.Kernels kernels, RotaryLayout layout, int p0, int n, int window, int sinks, KvType type) {
        Rope rope = rope(layout);
        Attention params = new Attention(HEADS, KV_HEADS, HEAD_DIM, window, sinks, 1f, SparseAttention.NONE, rope);
        SplittableRandom r = new SplittableRandom(p0 + 31L * window + sinks);
        int windowStart = Math.max(sinks, p0 - window + 1), stored = p0 + n - windowStart;
        float[] sinkK = gaussian(r, sinks * KV_DIM), sinkV = gaussian(r, sinks * KV_DIM);
        float[] winK = gaussian(r, stored * KV_DIM), winV = gaussian(r, stored * KV_DIM), q = gaussian(r, n * Q_DIM);
        float[] out;
        try (CpuOps ops = new CpuOps(2, kernels); KvCache cache = ops.allocateKvCache(1, p0 + n, KV_HEADS, HEAD_DIM, type)) {
            CpuAct k = (CpuAct) ops.allocate(Math.max(sinks, stored), KV_DIM), v = (CpuAct) ops.allocate(Math.max(sinks, stored), KV_DIM);
            System.arraycopy(sinkK, 0, k.data(), 0, sinkK.length);
            System.arraycopy(sinkV, 0, v.data(), 0, sinkV.length);
            ops.rope(k, KV_HEADS, rope, 0, sinks);
            ops.storeKv(cache, 0, k, v, 0, sinks);
            System.arraycopy(winK, 0, k.data(), 0, winK.length);
            System.arraycopy(winV, 0, v.data(), 0, winV.length);
            ops.rope(k, KV_HEADS, rope, windowStart, stored);
            ops.storeKv(cache, 0, k, v, windowStart, stored);
            CpuAct qa = (CpuAct) ops.allocate(n, Q_DIM), o = (CpuAct) ops.allocate(n, Q_DIM);
            System.arraycopy(q, 0, qa.data(), 0, q.length);
            ops.rope(qa, HEADS, rope, p0, n);
            ops.attention(o, qa, cache, 0, params, p0, n);
            out = o.data().clone();
        }
        double tolerance = switch (type) { // F16: 2^-12 relative per element; Q8: half a step of absmax / 127
            case F32 -> 2e-5;
            case F16 -> 2e-3;
            case Q8 -> 2e-2;
        };
        for (int t = 0; t < n; t++) {
            int p = p0 + t, first = Math.max(0, p - window + 1);
            long shift = first > sinks ? first - sinks : 0;
            for (int h = 0; h < HEADS; h++) {
                int kvHead = h / (HEADS / KV_HEADS);
                double[] qr = rotated(q, t * Q_DIM + h * HEAD_DIM, rope, p);
                int visible = sinks + p - first + 1;
                double[] score = new double[visible];
                double[][] value = new double[visible][HEAD_DIM];
                int j = 0;
                for (int s = 0; s < sinks && s < first; s++, j++) {
                    double[] kr = rotated(sinkK, s * KV_DIM + kvHead * HEAD_DIM, rope, s + shift); // just before the window
                    for (int e = 0; e < HEAD_DIM; e++) {
                        score[j] += qr[e] * kr[e];
                        value[j][e] = sinkV[s * KV_DIM + kvHead * HEAD_DIM + e];
                    }
                }
                for (int s = Math.max(first, 0); s <= p; s++, j++) {
                    boolean sink = s < sinks;
                    float[] ks = sink ? sinkK : winK, vs = sink ? sinkV : winV;
                    int row = sink ? s : s - windowStart;
                    double[] kr = rotated(ks, row * KV_DIM + kvHead * HEAD_DIM, rope, s);
                    for (int e = 0; e < HEAD_DIM; e++) {
                        score[j] += qr[e] * kr[e];
                        value[j][e] = vs[row * KV_DIM + kvHead * HEAD_DIM + e];
                    }
                }
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int i = 0; i < j; i++) max = Math.max(max, score[i] /= Math.sqrt(HEAD_DIM));
                for (int i = 0; i < j; i++) sum += score[i] = Math.exp(score[i] - max);
                for (int e = 0; e < HEAD_DIM; e++) {
                    double expected = 0;
                    for (int i = 0; i < j; i++) expected += score[i] / sum * value[i][e];
                    assertEquals(expected, out[t * Q_DIM + h * HEAD_DIM + e], tolerance,
                            kernels + " " + layout + " " + type + ", query " + p + " (window " + window + ", sinks " + sinks + "), head " + h + ", element " + e);
                }
            }
        }
    }

    @Test
    void sinksAreSeenJustBeforeTheWindowAsTheDefinitionSays() {
        for (CpuOps.Kernels kernels : List.of(CpuOps.Kernels.REFERENCE, CpuOps.Kernels.VECTOR)) {
            for (RotaryLayout layout : RotaryLayout.values()) {
                checkAgainstDefinition(kernels, layout, 300, 5, 100, 4, KvType.F32);   // decode and a chunk, past the window
                checkAgainstDefinition(kernels, layout, 100, 8, 100, 4, KvType.F32);   // sinks meeting the window mid-chunk
                checkAgainstDefinition(kernels, layout, 300, 3, 70, 100, KvType.F32);  // more sinks than one key block
                checkAgainstDefinition(kernels, layout, 1_000_000, 2, 128, 4, KvType.F32); // angles formed in double
                checkAgainstDefinition(kernels, layout, 5000, 3, 128, 4, KvType.F16);
                checkAgainstDefinition(kernels, layout, 5000, 3, 128, 4, KvType.Q8);
            }
        }
    }

    @Test
    void theVectorPathAgreesWithTheReferenceWithSinks() {
        SplittableRandom r = new SplittableRandom(9);
        int positions = 400, n = 4;
        float[] k = gaussian(r, positions * KV_DIM), v = gaussian(r, positions * KV_DIM), q = gaussian(r, n * Q_DIM);
        for (KvType type : KvType.values()) {
            float[][] results = new float[2][];
            int i = 0;
            for (CpuOps.Kernels kernels : List.of(CpuOps.Kernels.REFERENCE, CpuOps.Kernels.VECTOR)) {
                results[i++] = attention(kernels, type, new Attention(HEADS, KV_HEADS, HEAD_DIM, 150, 4, 1f, SparseAttention.NONE, rope(RotaryLayout.INTERLEAVED)),
                        k, v, q, positions, n);
            }
            for (int j = 0; j < results[0].length; j++) assertEquals(results[0][j], results[1][j], 1e-5f + 1e-5f * Math.abs(results[0][j]), type + " element " + j);
        }
    }

    private static float[] attention(CpuOps.Kernels kernels, KvType type, Attention params, float[] kd, float[] vd, float[] qd, int positions, int n) {
        try (CpuOps ops = new CpuOps(2, kernels); KvCache cache = ops.allocateKvCache(1, positions, KV_HEADS, HEAD_DIM, type)) {
            CpuAct k = (CpuAct) ops.allocate(positions, KV_DIM), v = (CpuAct) ops.allocate(positions, KV_DIM);
            System.arraycopy(kd, 0, k.data(), 0, kd.length);
            System.arraycopy(vd, 0, v.data(), 0, vd.length);
            ops.storeKv(cache, 0, k, v, 0, positions);
            CpuAct q = (CpuAct) ops.allocate(n, Q_DIM), out = (CpuAct) ops.allocate(n, Q_DIM);
            System.arraycopy(qd, 0, q.data(), 0, qd.length);
            ops.attention(out, q, cache, 0, params, positions - n, n);
            return out.data().clone();
        }
    }

    @Test
    void aWindowCoveringTheSequenceWithSinksIsPlainAttentionExactly() {
        SplittableRandom r = new SplittableRandom(10);
        int positions = 300, n = 5;
        float[] k = gaussian(r, positions * KV_DIM), v = gaussian(r, positions * KV_DIM), q = gaussian(r, n * Q_DIM);
        Rope rope = rope(RotaryLayout.INTERLEAVED);
        for (CpuOps.Kernels kernels : List.of(CpuOps.Kernels.REFERENCE, CpuOps.Kernels.VECTOR)) {
            float[] plain = attention(kernels, KvType.F32, new Attention(HEADS, KV_HEADS, HEAD_DIM, 0), k, v, q, positions, n);
            // Windows reaching position 0, or the sinks, for every query: no gap, so nothing to re-rotate.
            for (int window : new int[]{positions, positions - 4, 10_000}) {
                float[] sinks = attention(kernels, KvType.F32, new Attention(HEADS, KV_HEADS, HEAD_DIM, window, 4, 1f, SparseAttention.NONE, rope), k, v, q, positions, n);
                for (int j = 0; j < plain.length; j++) assertEquals(Float.floatToIntBits(plain[j]), Float.floatToIntBits(sinks[j]), kernels + " window " + window + " element " + j);
            }
        }
        // And the whole model, over 300 tokens, through the kernels and the paged cache with its eviction.
        int[] tokens = new int[300];
        for (int i = 0; i < tokens.length; i++) tokens[i] = 1 + r.nextInt(500);
        try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
            for (CpuOps.Kernels kernels : List.of(CpuOps.Kernels.REFERENCE, CpuOps.Kernels.VECTOR)) {
                float[][] plain = Logits.of(f, tokens, kernels), windowed = Logits.of(f, tokens, kernels, ContextOptions.DEFAULT.withWindow(296, 4)); // the last query's window starts at the sinks' end
                for (int p = 0; p < tokens.length; p++) {
                    for (int j = 0; j < plain[p].length; j++) assertEquals(Float.floatToIntBits(plain[p][j]), Float.floatToIntBits(windowed[p][j]), kernels + " position " + p);
                }
            }
        }
    }
}
