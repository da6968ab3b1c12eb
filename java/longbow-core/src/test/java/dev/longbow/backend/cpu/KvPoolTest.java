package dev.longbow.backend.cpu;

import dev.longbow.LongbowException;
import dev.longbow.backend.KvBlockPool;
import dev.longbow.backend.KvType;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shared KV pool: prefixes found by their tokens and salt, copy-on-write, reference counts, LRU reuse and the budget. */
class KvPoolTest {
    private static final int LAYERS = 3, KV_HEADS = 2, HEAD_DIM = 8, KV_DIM = KV_HEADS * HEAD_DIM;
    private static final int B = CpuKvCache.BLOCK_POSITIONS;

    private static CpuKvPool pool(int blocks) {
        long blockBytes = B * KvType.F32.bytesPerPosition(LAYERS, KV_HEADS, HEAD_DIM);
        return new CpuKvPool(LAYERS, KV_HEADS, HEAD_DIM, KvType.F32, blocks * blockBytes, true);
    }

    private static CpuKvCache cache(KvBlockPool pool) {
        return (CpuKvCache) pool.newCache(1024);
    }

    private static void write(CpuKvCache c, int from, int to, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] k = new float[KV_DIM], v = new float[KV_DIM];
        for (int pos = from; pos < to; pos++) {
            for (int i = 0; i < KV_DIM; i++) {
                k[i] = (float) r.nextGaussian();
                v[i] = (float) r.nextGaussian();
            }
            for (int l = 0; l < LAYERS; l++) c.store(l, pos, k, 0, v, 0);
        }
    }

    private static float[] key(CpuKvCache c, int layer, int pos) {
        float[] k = new float[HEAD_DIM];
        c.readKey(layer, pos, 1, k, 0);
        return k;
    }

    private static int[] tokens(int n, int seed) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (i * 31 + seed) % 500;
        return t;
    }

    @Test
    void aPublishedPrefixIsFoundByItsTokensAndSaltInWholeBlocks() {
        try (CpuKvPool pool = pool(16)) {
            int[] prompt = tokens(150, 7);
            CpuKvCache a = cache(pool);
            write(a, 0, 150, 1);
            pool.publishPrefix(a, prompt, 150, 42);

            CpuKvCache b = cache(pool);
            assertEquals(2 * B, pool.attachPrefix(b, prompt, 150, 42), "the two whole blocks; the last 22 positions are not a block");
            for (int pos : new int[]{0, 63, 64, 127}) assertArrayEquals(key(a, 2, pos), key(b, 2, pos), "position " + pos);
            assertEquals(2 * pool.blockBytes(), b.reservedBytes(), "b holds the two shared blocks");
            assertEquals(3, pool.stats().blocksInUse(), "a's three blocks, two of them held by b too");

            assertEquals(0, pool.attachPrefix(cache(pool), prompt, 150, 43), "another rotary table: nothing matches");
            int[] other = prompt.clone();
            other[70]++;
            assertEquals(B, pool.attachPrefix(cache(pool), other, 150, 42), "a token differs in the second block");
            other[3]++;
            assertEquals(0, pool.attachPrefix(cache(pool), other, 150, 42), "a token differs in the first block: the second is not found either");
            assertEquals(B, pool.attachPrefix(cache(pool), prompt, 127, 42), "a prompt that ends inside the second block");
            assertEquals(4L * B, pool.stats().prefixHits());
        }
    }

    @Test
    void writingIntoASharedBlockCopiesItFirst() {
        try (CpuKvPool pool = pool(16)) {
            int[] prompt = tokens(128, 3);
            CpuKvCache a = cache(pool);
            write(a, 0, 128, 1);
            pool.publishPrefix(a, prompt, 128, 0);
            CpuKvCache b = cache(pool);
            assertEquals(128, pool.attachPrefix(b, prompt, 128, 0));
            float[] before100 = key(a, 0, 100), before101 = key(a, 1, 101);
            assertEquals(1, pool.blocksToWrite(b, 100, 101), "a shared block must be copied");
            assertEquals(1, pool.blocksToWrite(b, 127, 128));
            assertEquals(2, pool.blocksToWrite(b, 127, 130), "a copy, and a new block for 128 and 129");

            write(b, 100, 101, 99);
            assertEquals(1, pool.stats().copiesOnWrite());
            assertArrayEquals(before100, key(a, 0, 100), "a's block is untouched");
            assertFalse(java.util.Arrays.equals(before100, key(b, 0, 100)), "b sees its own write");
            assertArrayEquals(before101, key(b, 1, 101), "the rest of the block was copied");
            assertArrayEquals(key(a, 0, 10), key(b, 0, 10), "the first block is still shared");
            assertEquals(0, pool.blocksToWrite(b, 64, 128), "b's copy is its own now");
            assertEquals(0, pool.blocksToWrite(a, 64, 128), "a's original is no longer shared");
            assertEquals(1, pool.blocksToWrite(a, 0, 128), "the first block still is");
        }
    }

    @Test
    void releasedPrefixesStayFindableUntilTheirBlocksAreNeeded() {
        try (CpuKvPool pool = pool(4)) {
            int[] first = tokens(128, 1), second = tokens(128, 2);
            CpuKvCache a = cache(pool);
            write(a, 0, 128, 1);
            pool.publishPrefix(a, first, 128, 0);
            a.close();
            assertEquals(new KvBlockPool.Stats(4, 0, 2, 0, 0), pool.stats(), "both blocks cached, none in use");
            assertEquals(4, pool.freeBlocks());

            CpuKvCache b = cache(pool);
            write(b, 0, 128, 2); // takes the two never-used blocks first
            pool.publishPrefix(b, second, 128, 0);
            b.close();
            CpuKvCache c = cache(pool);
            assertEquals(128, pool.attachPrefix(c, first, 128, 0), "the cached prefix survived b");
            c.close();

            // Four blocks for a new sequence: the least recently released prefix (second's, released before first's
            // was attached and released again) gives its blocks up first.
            CpuKvCache d = cache(pool);
            write(d, 0, 2 * B, 3);
            assertEquals(0, pool.attachPrefix(cache(pool), second, 128, 0));
            assertEquals(128, pool.attachPrefix(cache(pool), first, 128, 0));
        }
    }

    @Test
    void aCacheBeyondTheBudgetFailsWithAClearMessage() {
        try (CpuKvPool pool = pool(3)) {
            CpuKvCache a = cache(pool);
            write(a, 0, 3 * B, 1);
            assertEquals(0, pool.freeBlocks());
            LongbowException e = assertThrows(LongbowException.class, () -> write(a, 3 * B, 3 * B + 1, 1));
            assertTrue(e.getMessage().contains("KV memory budget") && e.getMessage().contains("--kv-memory"), e.getMessage());
            a.evict(0, 2 * B);
            assertEquals(2, pool.freeBlocks(), "evicted blocks go back to the pool");
            write(a, 3 * B, 4 * B, 1);
            a.close();
            assertEquals(3, pool.freeBlocks());
        }
        LongbowException e = assertThrows(LongbowException.class, () -> new CpuKvPool(LAYERS, KV_HEADS, HEAD_DIM, KvType.F32, 1000, true));
        assertTrue(e.getMessage().contains("holds no block"), e.getMessage());
    }
}
