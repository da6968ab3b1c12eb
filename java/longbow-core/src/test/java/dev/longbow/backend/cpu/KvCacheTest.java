package dev.longbow.backend.cpu;

import dev.longbow.LongbowException;
import dev.longbow.backend.KvType;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The paged KV cache: bytes per position for each storage type, memory reserved block by block, eviction and reuse. */
class KvCacheTest {
    // stories260K's shape: 5 layers, 4 KV heads of 8.
    private static final int LAYERS = 5, KV_HEADS = 4, HEAD_DIM = 8, KV_DIM = KV_HEADS * HEAD_DIM;
    private static final int B = CpuKvCache.BLOCK_POSITIONS;

    private static void write(CpuKvCache c, int from, int to, SplittableRandom r) {
        float[] k = new float[c.kvDim], v = new float[c.kvDim];
        for (int pos = from; pos < to; pos++) {
            for (int i = 0; i < c.kvDim; i++) {
                k[i] = (float) r.nextGaussian();
                v[i] = (float) r.nextGaussian();
            }
            for (int l = 0; l < LAYERS; l++) c.store(l, pos, k, 0, v, 0);
        }
    }

    @Test
    void runsOfKeysAndValuesGiveWhatOneAtATimeGivesBitForBit() {
        // Head dimensions of whole vectors (the register path for F32 values) and not, runs across block boundaries.
        for (int headDim : new int[]{8, 64, 128}) {
            for (KvType type : KvType.values()) {
                try (CpuKvCache c = new CpuKvCache(LAYERS, 512, KV_HEADS, headDim, type)) {
                    SplittableRandom r = new SplittableRandom(headDim);
                    write(c, 0, 3 * B, r);
                    float[] q = new float[headDim], weights = new float[3 * B];
                    for (int i = 0; i < headDim; i++) q[i] = (float) r.nextGaussian();
                    for (int i = 0; i < weights.length; i++) weights[i] = (float) r.nextDouble();
                    int layer = 3, head = 2, first = B - 5, count = B + 17; // three blocks
                    float[] scores = new float[count + 2];
                    c.dotKeys(q, 0, layer, first, count, head, scores, 2);
                    float[] one = new float[headDim], run = new float[headDim];
                    for (int j = 0; j < count; j++) {
                        String what = type + " head dim " + headDim + ", key " + (first + j);
                        assertEquals(Float.floatToIntBits(c.dotKey(q, 0, layer, first + j, head)), Float.floatToIntBits(scores[2 + j]), what);
                        c.addValue(weights[1 + j], layer, first + j, head, one, 0);
                    }
                    c.addValues(weights, 1, count, layer, first, head, run, 0);
                    for (int i = 0; i < headDim; i++) {
                        assertEquals(Float.floatToIntBits(one[i]), Float.floatToIntBits(run[i]), type + " head dim " + headDim + ", value element " + i);
                    }
                }
            }
        }
    }

    @Test
    void bytesPerPositionHalveForF16AndQuarterPlusScalesForQ8() {
        long f32, f16, q8;
        try (CpuKvCache a = new CpuKvCache(LAYERS, 512, KV_HEADS, HEAD_DIM, KvType.F32);
             CpuKvCache b = new CpuKvCache(LAYERS, 512, KV_HEADS, HEAD_DIM, KvType.F16);
             CpuKvCache c = new CpuKvCache(LAYERS, 512, KV_HEADS, HEAD_DIM, KvType.Q8)) {
            f32 = a.bytesPerPositionPerLayer();
            f16 = b.bytesPerPositionPerLayer();
            q8 = c.bytesPerPositionPerLayer();
            for (CpuKvCache cache : new CpuKvCache[]{a, b, c}) assertEquals((long) B * LAYERS * cache.bytesPerPositionPerLayer(), cache.blockBytes);
        }
        assertEquals(2L * KV_DIM * 4, f32, "keys and values, 4 bytes each");
        assertEquals(f32 / 2, f16);
        assertEquals(f32 / 4 + 2L * KV_HEADS * Float.BYTES, q8, "int8 plus one float scale per head, for keys and for values");
    }

    @Test
    void memoryIsReservedBlockByBlockAsPositionsAreWritten() {
        for (KvType type : KvType.values()) {
            try (CpuKvCache c = new CpuKvCache(LAYERS, 4096, KV_HEADS, HEAD_DIM, type)) {
                assertEquals(0, c.reservedBytes());
                SplittableRandom r = new SplittableRandom(1);
                int written = 0;
                for (int n : new int[]{1, B - 1, B, B + 1, 3 * B, 1000, 4096}) {
                    write(c, written, n, r);
                    written = n;
                    assertEquals((n + B - 1) / B * c.blockBytes, c.reservedBytes(), type + " after " + n + " positions");
                }
            }
        }
    }

    @Test
    void aMillionPositionContextReservesNothingUpFront() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        new CpuKvCache(LAYERS, 1_000_000, KV_HEADS, HEAD_DIM, KvType.F32).close(); // classes loaded, not counted
        long before = threads.getCurrentThreadAllocatedBytes();
        try (CpuKvCache c = new CpuKvCache(LAYERS, 1_000_000, KV_HEADS, HEAD_DIM, KvType.F32)) {
            long heap = threads.getCurrentThreadAllocatedBytes() - before;
            assertEquals(0, c.reservedBytes());
            // The whole cache would be 1.3 GB; the block table starts small and grows with the positions written.
            assertTrue(heap < 16_384, heap + " bytes of heap allocated creating the cache");
            write(c, 999_990, 1_000_000, new SplittableRandom(2));
            assertEquals(c.blockBytes, c.reservedBytes(), "only the last block");
        }
    }

    @Test
    void theNextBlockPastTheMemoryLimitIsRefusedInOneLine() {
        long blockBytes;
        try (CpuKvCache probe = new CpuKvCache(LAYERS, 1_000_000, KV_HEADS, HEAD_DIM, KvType.F32, 0)) {
            blockBytes = probe.blockBytes;
        }
        // A "machine" with room for two and a half blocks.
        try (CpuKvCache small = new CpuKvCache(LAYERS, 1_000_000, KV_HEADS, HEAD_DIM, KvType.F32, 5 * blockBytes / 2)) {
            SplittableRandom r = new SplittableRandom(3);
            write(small, 0, 2 * B, r);
            assertEquals(2 * blockBytes, small.reservedBytes());
            LongbowException e = assertThrows(LongbowException.class, () -> write(small, 2 * B, 2 * B + 1, r));
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertTrue(e.getMessage().startsWith("the KV cache needs more than this machine's") && e.getMessage().contains("position " + 2 * B),
                    e.getMessage());
            assertEquals(2 * blockBytes, small.reservedBytes(), "nothing reserved by the refused block");
        }
    }

    @Test
    void evictedBlocksAreReusedAndSinkBlocksKept() {
        try (CpuKvCache c = new CpuKvCache(LAYERS, 1 << 20, KV_HEADS, HEAD_DIM, KvType.Q8)) {
            SplittableRandom r = new SplittableRandom(4);
            int window = 100, sinks = 4;
            long most = 0;
            for (int pos = 0; pos < 20 * B; pos++) {
                write(c, pos, pos + 1, r);
                c.evict(sinks, pos + 1 - window + 1); // as Transformer.forward does after each token
                most = Math.max(most, c.reservedBytes());
            }
            // The sinks' block, and the blocks the window [p - 99, p] and the next position touch.
            assertEquals(4 * c.blockBytes, most);
            // Writing an evicted position again (a sequence re-run from 0) takes a block back from the spare list.
            float[] k = new float[KV_DIM], v = new float[KV_DIM], back = new float[HEAD_DIM];
            for (int i = 0; i < KV_DIM; i++) k[i] = v[i] = i;
            c.store(0, 5 * B, k, 0, v, 0);
            assertEquals(most, c.reservedBytes());
            c.readKey(0, 5 * B, 1, back, 0);
            assertEquals(HEAD_DIM + 3, back[3], 0.1f);
        }
    }

    @Test
    void storedValuesReadBackAsTheirTypeRoundsThem() {
        SplittableRandom r = new SplittableRandom(5);
        float[] k = new float[KV_DIM], v = new float[KV_DIM], back = new float[HEAD_DIM];
        for (int i = 0; i < KV_DIM; i++) {
            k[i] = (float) (r.nextGaussian() * 3);
            v[i] = (float) r.nextGaussian();
        }
        k[3] = 0; // a zero among others, and a head of zeros (scale 0)
        for (int i = HEAD_DIM; i < 2 * HEAD_DIM; i++) k[i] = 0;
        for (KvType type : KvType.values()) {
            try (CpuKvCache c = new CpuKvCache(1, 16, KV_HEADS, HEAD_DIM, type)) {
                c.store(0, 7, k, 0, v, 0);
                for (int h = 0; h < KV_HEADS; h++) {
                    c.readKey(0, 7, h, back, 0);
                    float absmax = 0;
                    for (int i = 0; i < HEAD_DIM; i++) absmax = Math.max(absmax, Math.abs(k[h * HEAD_DIM + i]));
                    for (int i = 0; i < HEAD_DIM; i++) {
                        float x = k[h * HEAD_DIM + i];
                        switch (type) {
                            case F32 -> assertEquals(x, back[i]);
                            case F16 -> assertEquals(Float.float16ToFloat(Float.floatToFloat16(x)), back[i]);
                            case Q8 -> assertEquals(x, back[i], absmax / 127 / 2 * 1.0001f, "head " + h + " element " + i);
                        }
                    }
                    // The value side: out += 1 * value, through both kernels, against the same rounding.
                    float[] vector = new float[HEAD_DIM], reference = new float[HEAD_DIM];
                    c.addValue(1f, 0, 7, h, vector, 0);
                    c.addValueReference(1f, 0, 7, h, reference, 0);
                    for (int i = 0; i < HEAD_DIM; i++) {
                        assertEquals(reference[i], vector[i], 1e-6f * Math.abs(reference[i]) + 1e-7f);
                        float vmax = 0;
                        for (int j = 0; j < HEAD_DIM; j++) vmax = Math.max(vmax, Math.abs(v[h * HEAD_DIM + j]));
                        float tolerance = switch (type) {
                            case F32 -> 0f;
                            case F16 -> Math.ulp(v[h * HEAD_DIM + i]) * 8192; // 10 of 23 mantissa bits kept
                            case Q8 -> vmax / 127 / 2 * 1.0001f;
                        };
                        assertEquals(v[h * HEAD_DIM + i], reference[i], tolerance);
                    }
                }
            }
        }
    }
}
