package dev.longbow.backend.cpu;

import dev.longbow.backend.Attention;
import dev.longbow.backend.KvType;
import dev.longbow.backend.SparseAttention;
import dev.longbow.backend.SparsePattern;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Block-sparse attention against references written out plainly: dense attention where a pattern covers every
 * causal key (bit for bit: the same blocks through the same kernels), and elsewhere a double-precision softmax over
 * exactly the positions the pattern's definition allows, with the count of scores computed checked to the unit.
 */
class SparseAttentionTest {
    private static final int HEADS = 4, KV_HEADS = 2, HEAD_DIM = 16, KV_DIM = KV_HEADS * HEAD_DIM, LAYERS = 2;

    /** Which keys the query of token t, head h at position pos may see. */
    private interface Mask {
        boolean visible(int t, int h, int pos, int key);
    }

    /** A two-layer cache of random keys and values, attended to through {@link CpuOps} on layer 1. */
    private static final class Fixture implements AutoCloseable {
        final CpuOps ops;
        final CpuKvCache cache;
        final int positions;
        float[] k, v;

        Fixture(CpuOps.Kernels kernels, int positions, long seed) {
            this.ops = new CpuOps(2, kernels);
            this.positions = positions;
            this.cache = (CpuKvCache) ops.allocateKvCache(LAYERS, positions, KV_HEADS, HEAD_DIM, KvType.F32);
            fill(seed);
        }

        /** New keys and values for every position, as when a sequence is run again from the start. */
        void fill(long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            k = random(r, positions * KV_DIM, 2);
            v = random(r, positions * KV_DIM, 1);
            CpuAct ka = (CpuAct) ops.allocate(positions, KV_DIM), va = (CpuAct) ops.allocate(positions, KV_DIM);
            System.arraycopy(k, 0, ka.data(), 0, k.length);
            System.arraycopy(v, 0, va.data(), 0, v.length);
            for (int layer = 0; layer < LAYERS; layer++) ops.storeKv(cache, layer, ka, va, 0, positions);
        }

        float[] attend(Attention p, float[] q, int startPos, int n) {
            CpuAct qa = (CpuAct) ops.allocate(n, HEADS * HEAD_DIM), out = (CpuAct) ops.allocate(n, HEADS * HEAD_DIM);
            System.arraycopy(q, 0, qa.data(), 0, n * HEADS * HEAD_DIM);
            ops.attention(out, qa, cache, 1, p, startPos, n);
            return out.data().clone();
        }

        /** softmax(q·k / sqrt(d)) v over the keys the mask allows, in double. */
        float[] reference(float[] q, int startPos, int n, Mask mask) {
            float[] out = new float[n * HEADS * HEAD_DIM];
            for (int t = 0; t < n; t++) {
                int pos = startPos + t;
                for (int h = 0; h < HEADS; h++) {
                    int kvHead = h / (HEADS / KV_HEADS), qo = (t * HEADS + h) * HEAD_DIM;
                    double[] w = new double[pos + 1];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int s = 0; s <= pos; s++) {
                        if (!mask.visible(t, h, pos, s)) continue;
                        double dot = 0;
                        for (int i = 0; i < HEAD_DIM; i++) dot += (double) q[qo + i] * k[s * KV_DIM + kvHead * HEAD_DIM + i];
                        w[s] = dot / Math.sqrt(HEAD_DIM);
                        max = Math.max(max, w[s]);
                    }
                    for (int s = 0; s <= pos; s++) if (mask.visible(t, h, pos, s)) sum += w[s] = Math.exp(w[s] - max);
                    for (int i = 0; i < HEAD_DIM; i++) {
                        double o = 0;
                        for (int s = 0; s <= pos; s++) if (mask.visible(t, h, pos, s)) o += w[s] / sum * v[s * KV_DIM + kvHead * HEAD_DIM + i];
                        out[qo + i] = (float) o;
                    }
                }
            }
            return out;
        }

        /** Keys the mask allows over the queries of one call: what the cache must count as computed. */
        static long count(int startPos, int n, Mask mask) {
            long c = 0;
            for (int t = 0; t < n; t++) for (int h = 0; h < HEADS; h++) for (int s = 0; s <= startPos + t; s++) if (mask.visible(t, h, startPos + t, s)) c++;
            return c;
        }

        @Override
        public void close() {
            cache.close();
            ops.close();
        }
    }

    private static float[] random(SplittableRandom r, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        return x;
    }

    private static Attention attention(int window, SparseAttention sparse) {
        return new Attention(HEADS, KV_HEADS, HEAD_DIM, window).withSparse(sparse);
    }

    private static SparseAttention localGlobal(int block, int local, int global) {
        return SparseAttention.of(SparsePattern.LOCAL_GLOBAL).withBlocks(block, local, global);
    }

    private static SparseAttention lsh(int buckets, int rounds) {
        return SparseAttention.of(SparsePattern.LSH).withLsh(buckets, rounds);
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 2e-5f + 2e-5f * Math.abs(expected[i]), what + ", element " + i);
        }
    }

    private static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    @Test
    void localGlobalCoveringTheSequenceIsDenseAttentionExactly() {
        int positions = 300, n = 24, startPos = positions - n;
        // Each covers every causal key of these positions: a window reaching position 0, or global blocks meeting the window.
        List<SparseAttention> covering = List.of(localGlobal(64, 4, 0), localGlobal(64, 1, 4), localGlobal(50, 2, 4), localGlobal(16, 3, 17), lsh(1, 1), lsh(1, 3));
        for (CpuOps.Kernels kernels : CpuOps.Kernels.values()) {
            try (Fixture f = new Fixture(kernels, positions, 5)) {
                float[] q = random(new SplittableRandom(6), n * HEADS * HEAD_DIM, 2);
                float[] dense = f.attend(attention(0, SparseAttention.NONE), q, startPos, n);
                for (SparseAttention s : covering) {
                    long before = f.cache.scoresComputed();
                    assertArrayEquals(dense, f.attend(attention(0, s), q, startPos, n), kernels + " " + s);
                    assertEquals(Fixture.count(startPos, n, (t, h, pos, key) -> true), f.cache.scoresComputed() - before, kernels + " " + s);
                }
                assertEquals(0, f.cache.scoresSkipped(), kernels + ": nothing skipped");
            }
        }
    }

    @Test
    void localGlobalSeesItsBlockTheLocalBlocksBeforeItAndTheGlobalBlocks() {
        int positions = 700, n = 40, startPos = positions - n;
        record Case(int window, int block, int local, int global) {}
        for (Case c : List.of(new Case(0, 64, 2, 1), new Case(0, 16, 3, 2), new Case(0, 64, 0, 0), new Case(0, 7, 5, 11), new Case(200, 64, 1, 2),
                new Case(150, 32, 8, 1))) {
            Mask mask = (t, h, pos, key) -> key <= pos && (key / c.block >= pos / c.block - c.local || key / c.block < c.global)
                    && (c.window == 0 || key > pos - c.window);
            for (CpuOps.Kernels kernels : CpuOps.Kernels.values()) {
                try (Fixture f = new Fixture(kernels, positions, 11)) {
                    float[] q = random(new SplittableRandom(12), n * HEADS * HEAD_DIM, 2);
                    float[] got = f.attend(attention(c.window, localGlobal(c.block, c.local, c.global)), q, startPos, n);
                    float[] expected = f.reference(q, startPos, n, mask);
                    assertClose(expected, got, kernels + " " + c);
                    // The mask matters on this data: dense attention lands far from it.
                    assertTrue(maxDiff(expected, f.reference(q, startPos, n, (t, h, pos, key) -> true)) > 1e-3, c + ": mask indistinguishable from dense");
                    long computed = Fixture.count(startPos, n, mask), dense = Fixture.count(startPos, n, (t, h, pos, key) -> true);
                    assertEquals(computed, f.cache.scoresComputed(), kernels + " " + c);
                    assertEquals(dense, f.cache.scoresDense(), kernels + " " + c);
                    assertEquals(1 - (double) computed / dense, f.cache.scoresSkipped(), 1e-12);
                }
            }
        }
    }

    @Test
    void lshSeesTheKeysSharingABucketInAnyRoundPlusItsOwnBlock() {
        int positions = 600, n = 32, startPos = positions - n;
        record Case(int window, int block, int buckets, int rounds) {}
        for (Case c : List.of(new Case(0, 64, 16, 2), new Case(0, 32, 8, 1), new Case(0, 16, 32, 4), new Case(250, 64, 4, 2))) {
            SparseAttention sparse = lsh(c.buckets, c.rounds).withBlocks(c.block, 0, 0);
            for (CpuOps.Kernels kernels : CpuOps.Kernels.values()) {
                try (Fixture f = new Fixture(kernels, positions, 21)) {
                    float[] q = random(new SplittableRandom(22), n * HEADS * HEAD_DIM, 2);
                    float[] got = f.attend(attention(c.window, sparse), q, startPos, n);
                    Mask mask = lshMask(f, f.cache.lsh(sparse), q, c.window, c.block, c.rounds);
                    assertClose(f.reference(q, startPos, n, mask), got, kernels + " " + c);
                    long computed = Fixture.count(startPos, n, mask), dense = Fixture.count(startPos, n, (t, h, pos, key) -> true);
                    assertEquals(computed, f.cache.scoresComputed(), kernels + " " + c);
                    assertEquals(dense, f.cache.scoresDense(), kernels + " " + c);
                    // Neither everything nor only the own block: the buckets select.
                    long local = Fixture.count(startPos, n, (t, h, pos, key) -> key >= pos / c.block * c.block && (c.window == 0 || key > pos - c.window));
                    assertTrue(computed > local && computed < dense, c + ": " + local + " < " + computed + " < " + dense);
                }
            }
        }
    }

    /**
     * Visible: in the query's own block, or in the same bucket as the query in some round; causal, within the window.
     * Keys are hashed here from the fixture's current keys through the query hash (which
     * lshHashesAKeyAsItWouldHashTheSameVectorAsAQuery checks the index's key hashes against), so stale hashes would show.
     */
    private static Mask lshMask(Fixture f, LshIndex index, float[] q, int window, int block, int rounds) {
        int[][] keyBuckets = new int[KV_HEADS * rounds][f.positions];
        for (int kvHead = 0; kvHead < KV_HEADS; kvHead++) {
            for (int r = 0; r < rounds; r++) {
                for (int s = 0; s < f.positions; s++) keyBuckets[kvHead * rounds + r][s] = index.queryBucket(f.k, s * KV_DIM + kvHead * HEAD_DIM, 1, kvHead, r);
            }
        }
        return (t, h, pos, key) -> {
            if (key > pos || (window > 0 && key <= pos - window)) return false;
            if (key >= pos / block * block) return true;
            int kvHead = h / (HEADS / KV_HEADS);
            for (int r = 0; r < rounds; r++) {
                if (keyBuckets[kvHead * rounds + r][key] == index.queryBucket(q, (t * HEADS + h) * HEAD_DIM, 1, kvHead, r)) return true;
            }
            return false;
        };
    }

    @Test
    void lshHashesAKeyAsItWouldHashTheSameVectorAsAQuery() {
        SparseAttention sparse = lsh(16, 3);
        try (Fixture f = new Fixture(CpuOps.Kernels.VECTOR, 200, 31)) {
            f.attend(attention(0, sparse), new float[HEADS * HEAD_DIM], 199, 1);
            LshIndex index = f.cache.lsh(sparse);
            int[] used = new int[16];
            for (int s = 0; s < 200; s++) {
                for (int kvHead = 0; kvHead < KV_HEADS; kvHead++) {
                    for (int r = 0; r < 3; r++) {
                        int b = index.keyBucket(1, kvHead, r, s);
                        assertEquals(index.queryBucket(f.k, s * KV_DIM + kvHead * HEAD_DIM, 1, kvHead, r), b, "position " + s);
                        used[b]++;
                    }
                }
            }
            for (int b = 0; b < 16; b++) assertTrue(used[b] > 0, "bucket " + b + " never used: " + java.util.Arrays.toString(used));
        }
    }

    @Test
    void lshRehashesKeysWhenTheSequenceIsRunAgain() {
        int positions = 400, chunk = 50;
        SparseAttention sparse = lsh(8, 2);
        try (Fixture f = new Fixture(CpuOps.Kernels.VECTOR, positions, 41)) {
            SplittableRandom r = new SplittableRandom(42);
            for (int pass = 0; pass < 2; pass++) {
                if (pass == 1) f.fill(43); // new keys at every position, as after a rope table change
                for (int start = 0; start < positions; start += chunk) {
                    float[] q = random(r, chunk * HEADS * HEAD_DIM, 2);
                    float[] got = f.attend(attention(0, sparse), q, start, chunk);
                    assertClose(f.reference(q, start, chunk, lshMask(f, f.cache.lsh(sparse), q, 0, sparse.block(), 2)), got, "pass " + pass + " at " + start);
                }
            }
        }
    }
}
