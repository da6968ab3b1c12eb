package dev.longbow.backend.cpu;

import dev.longbow.LongbowException;
import dev.longbow.backend.KvCache;
import dev.longbow.backend.KvType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Keys and values off the heap in blocks of {@link #BLOCK_POSITIONS} positions of every layer, reserved when a block's
 * first position is written: memory follows the positions used, not the context length, and a block table maps
 * position / BLOCK_POSITIONS to its block. One block holds all layers because which positions are visible never
 * depends on the layer, so a block is freed whole. Within a block: keys [layer][position][kvDim], values the same,
 * then (Q8 only) key scales [layer][position][kvHead] and value scales the same.
 * <p>
 * Storage per {@link KvType}: F32; F16 (IEEE half, little-endian); Q8 (int8 with one float scale per position and
 * head, absmax / 127, rounded to nearest). Blocks evicted by {@link #evict} go to a spare list and are reused before
 * any new one is reserved, so the memory held is the most ever in use at once. The block table grows with the
 * highest position written (4 bytes per block), the only part that does not shrink.
 */
final class CpuKvCache implements KvCache {
    static final int BLOCK_SHIFT = 6;
    /** Positions per block: the attention's key block, and little memory wasted on a half-used last block. */
    static final int BLOCK_POSITIONS = 1 << BLOCK_SHIFT;
    private static final int POSITION_MASK = BLOCK_POSITIONS - 1;
    private static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena = Arena.ofShared();
    final KvType type;
    final int layers;
    final int contextLength;
    final int kvHeads;
    final int kvDim;
    final int headDim;
    private final int elementBytes;
    /** Offsets within a block of the values, the key scales and the value scales (the last two Q8 only). */
    private final long valuesAt, keyScalesAt, valueScalesAt;
    final long blockBytes;
    /** Refuse a block that would take the cache past this many bytes (the machine's memory; 0 = no limit). */
    private final long memoryLimit;
    private final int maxBlocks;
    private MemorySegment[] table;
    private MemorySegment[] spare = new MemorySegment[4];
    private int spareCount, blocksReserved;
    /** Blocks below this were evicted (or never written); eviction resumes here. */
    private int evictedBelow;

    CpuKvCache(int layers, int contextLength, int kvHeads, int headDim, KvType type) {
        this(layers, contextLength, kvHeads, headDim, type, PHYSICAL_MEMORY);
    }

    CpuKvCache(int layers, int contextLength, int kvHeads, int headDim, KvType type, long memoryLimit) {
        this.type = type;
        this.layers = layers;
        this.contextLength = contextLength;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.kvDim = kvHeads * headDim;
        this.memoryLimit = memoryLimit;
        elementBytes = switch (type) {
            case F32 -> 4;
            case F16 -> 2;
            case Q8 -> 1;
        };
        long rows = (long) layers * BLOCK_POSITIONS;
        valuesAt = rows * kvDim * elementBytes;
        keyScalesAt = 2 * valuesAt;
        long scaleBytes = type == KvType.Q8 ? rows * kvHeads * Float.BYTES : 0;
        valueScalesAt = keyScalesAt + scaleBytes;
        blockBytes = valueScalesAt + scaleBytes;
        maxBlocks = (int) ((contextLength + (long) BLOCK_POSITIONS - 1) >>> BLOCK_SHIFT);
        table = new MemorySegment[Math.min(maxBlocks, 16)];
    }

    /** Read once: the query reads the OS's and cgroup's files, some 60 KB of garbage each time. */
    private static final long PHYSICAL_MEMORY =
            ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();

    /** Bytes one position of one layer takes: keys, values and their scales. */
    long bytesPerPositionPerLayer() {
        return blockBytes / ((long) layers * BLOCK_POSITIONS);
    }

    @Override
    public long reservedBytes() {
        return blocksReserved * blockBytes;
    }

    // Sparse attention's bookkeeping, kept apart from the key and value storage above.
    private LshIndex lsh;
    private long scoresComputed, scoresDense;

    /** The LSH index of these keys for {@code s}'s hashing, made on first use. */
    LshIndex lsh(dev.longbow.backend.SparseAttention s) {
        if (lsh == null || !lsh.fits(s)) lsh = new LshIndex(s, contextLength, kvDim / headDim, headDim);
        return lsh;
    }

    void countScores(long computed, long dense) {
        scoresComputed += computed;
        scoresDense += dense;
    }

    @Override
    public long scoresComputed() {
        return scoresComputed;
    }

    @Override
    public long scoresDense() {
        return scoresDense;
    }

    @Override
    public int contextLength() {
        return contextLength;
    }

    private MemorySegment blockFor(int pos) {
        int b = pos >>> BLOCK_SHIFT;
        if (b >= table.length) {
            if (b >= maxBlocks) throw new IllegalArgumentException("position " + pos + " is beyond the cache's " + contextLength);
            table = java.util.Arrays.copyOf(table, (int) Math.min(maxBlocks, Math.max(b + 1L, 2L * table.length)));
        }
        MemorySegment block = table[b];
        if (block == null) {
            block = table[b] = spareCount > 0 ? spare[--spareCount] : reserve(pos);
            evictedBelow = Math.min(evictedBelow, b);
        }
        return block;
    }

    private MemorySegment reserve(int pos) {
        long after = reservedBytes() + blockBytes;
        // Allocation zero-fills, so a cache past the machine's memory would be killed by the OS rather than fail cleanly.
        if (memoryLimit > 0 && after > memoryLimit) {
            throw new LongbowException(String.format("the KV cache needs more than this machine's %.1f GiB of memory at position %,d; "
                    + "use fewer tokens, --kv-type f16 or q8, or --attn-window with --attn-sinks", memoryLimit / (double) (1L << 30), pos));
        }
        MemorySegment block;
        try {
            block = arena.allocate(blockBytes, 64);
        } catch (OutOfMemoryError e) {
            throw new LongbowException(String.format("the KV cache needs more than the %.1f GiB that can be allocated here at position %,d; "
                    + "use fewer tokens, --kv-type f16 or q8, or --attn-window with --attn-sinks", after / (double) (1L << 30), pos));
        }
        // The spare list can then take every block back without growing while tokens are decoded.
        if (++blocksReserved > spare.length) spare = java.util.Arrays.copyOf(spare, 2 * blocksReserved);
        return block;
    }

    @Override
    public void evict(int keep, int before) {
        int firstFree = (int) ((keep + (long) BLOCK_POSITIONS - 1) >>> BLOCK_SHIFT); // blocks holding a kept position stay
        int end = Math.min(table.length, Math.max(0, before) >>> BLOCK_SHIFT);      // blocks wholly below before
        for (int b = Math.max(firstFree, evictedBelow); b < end; b++) {
            if (table[b] != null) {
                spare[spareCount++] = table[b];
                table[b] = null;
            }
        }
        evictedBelow = Math.max(evictedBelow, end);
    }

    /** Row of (layer, pos) within its block. */
    private static long row(int layer, int pos) {
        return (long) layer * BLOCK_POSITIONS + (pos & POSITION_MASK);
    }

    void store(int layer, int pos, float[] k, int ko, float[] v, int vo) {
        MemorySegment block = blockFor(pos);
        long r = row(layer, pos);
        long off = r * kvDim * elementBytes;
        switch (type) {
            case F32 -> {
                MemorySegment.copy(k, ko, block, ValueLayout.JAVA_FLOAT, off, kvDim);
                MemorySegment.copy(v, vo, block, ValueLayout.JAVA_FLOAT, valuesAt + off, kvDim);
            }
            case F16 -> {
                for (int i = 0; i < kvDim; i++) {
                    block.set(F16_LE, off + 2L * i, Float.floatToFloat16(k[ko + i]));
                    block.set(F16_LE, valuesAt + off + 2L * i, Float.floatToFloat16(v[vo + i]));
                }
            }
            case Q8 -> {
                for (int h = 0; h < kvHeads; h++) {
                    long scale = 4L * (r * kvHeads + h);
                    quantize(k, ko + h * headDim, block, off + (long) h * headDim, keyScalesAt + scale);
                    quantize(v, vo + h * headDim, block, valuesAt + off + (long) h * headDim, valueScalesAt + scale);
                }
            }
        }
    }

    /** One head as int8 with scale absmax / 127, rounded to nearest. */
    private void quantize(float[] x, int xo, MemorySegment block, long at, long scaleAt) {
        float absmax = 0f;
        for (int i = 0; i < headDim; i++) absmax = Math.max(absmax, Math.abs(x[xo + i]));
        float scale = absmax / 127f;
        for (int i = 0; i < headDim; i++) {
            int q = scale == 0f ? 0 : Math.round(x[xo + i] / scale);
            block.set(ValueLayout.JAVA_BYTE, at + i, (byte) Math.max(-127, Math.min(127, q)));
        }
        block.set(ValueLayout.JAVA_FLOAT, scaleAt, scale);
    }

    /** Byte offset within its block of the key of head {@code kvHead} at (layer, pos); values are {@link #valuesAt} further. */
    private long at(int layer, int pos, int kvHead) {
        return (row(layer, pos) * kvDim + (long) kvHead * headDim) * elementBytes;
    }

    private float keyScale(MemorySegment block, int layer, int pos, int kvHead) {
        return block.get(ValueLayout.JAVA_FLOAT, keyScalesAt + 4L * (row(layer, pos) * kvHeads + kvHead));
    }

    private float valueScale(MemorySegment block, int layer, int pos, int kvHead) {
        return block.get(ValueLayout.JAVA_FLOAT, valueScalesAt + 4L * (row(layer, pos) * kvHeads + kvHead));
    }

    /** q · key of head {@code kvHead} at {@code pos}, with the Vector API. */
    float dotKey(float[] q, int qo, int layer, int pos, int kvHead) {
        MemorySegment block = table[pos >>> BLOCK_SHIFT];
        long at = at(layer, pos, kvHead);
        return switch (type) {
            case F32 -> VectorKernels.dot(q, qo, block, at, headDim);
            case F16 -> VectorKernels.dotF16(block, at, q, qo, headDim);
            case Q8 -> VectorKernels.dotI8(q, qo, block, at, headDim) * keyScale(block, layer, pos, kvHead);
        };
    }

    /** out += w * value of head {@code kvHead} at {@code pos}, with the Vector API. */
    void addValue(float w, int layer, int pos, int kvHead, float[] out, int oo) {
        MemorySegment block = table[pos >>> BLOCK_SHIFT];
        long at = valuesAt + at(layer, pos, kvHead);
        switch (type) {
            case F32 -> VectorKernels.axpy(w, block, at, out, oo, headDim);
            case F16 -> VectorKernels.axpyF16(w, block, at, out, oo, headDim);
            case Q8 -> VectorKernels.axpyI8(w * valueScale(block, layer, pos, kvHead), block, at, out, oo, headDim);
        }
    }

    /** q · key in run.c's order (each stored element widened to float first). */
    float dotKeyReference(float[] q, int qo, int layer, int pos, int kvHead) {
        MemorySegment block = table[pos >>> BLOCK_SHIFT];
        long ko = at(layer, pos, kvHead);
        float score = 0.0f;
        switch (type) {
            case F32 -> {
                for (int i = 0; i < headDim; i++) score += q[qo + i] * block.get(ValueLayout.JAVA_FLOAT, ko + 4L * i);
            }
            case F16 -> {
                for (int i = 0; i < headDim; i++) score += q[qo + i] * Float.float16ToFloat(block.get(F16_LE, ko + 2L * i));
            }
            case Q8 -> {
                float scale = keyScale(block, layer, pos, kvHead);
                for (int i = 0; i < headDim; i++) score += q[qo + i] * (scale * block.get(ValueLayout.JAVA_BYTE, ko + i));
            }
        }
        return score;
    }

    /** out += w * value in run.c's order. */
    void addValueReference(float w, int layer, int pos, int kvHead, float[] out, int oo) {
        MemorySegment block = table[pos >>> BLOCK_SHIFT];
        long vo = valuesAt + at(layer, pos, kvHead);
        switch (type) {
            case F32 -> {
                for (int i = 0; i < headDim; i++) out[oo + i] += w * block.get(ValueLayout.JAVA_FLOAT, vo + 4L * i);
            }
            case F16 -> {
                for (int i = 0; i < headDim; i++) out[oo + i] += w * Float.float16ToFloat(block.get(F16_LE, vo + 2L * i));
            }
            case Q8 -> {
                float scale = valueScale(block, layer, pos, kvHead);
                for (int i = 0; i < headDim; i++) out[oo + i] += w * (scale * block.get(ValueLayout.JAVA_BYTE, vo + i));
            }
        }
    }

    /** The key of head {@code kvHead} at (layer, pos) as floats, into dst[off, off + headDim). */
    void readKey(int layer, int pos, int kvHead, float[] dst, int off) {
        MemorySegment block = table[pos >>> BLOCK_SHIFT];
        long ko = at(layer, pos, kvHead);
        switch (type) {
            case F32 -> MemorySegment.copy(block, ValueLayout.JAVA_FLOAT, ko, dst, off, headDim);
            case F16 -> {
                for (int i = 0; i < headDim; i++) dst[off + i] = Float.float16ToFloat(block.get(F16_LE, ko + 2L * i));
            }
            case Q8 -> {
                float scale = keyScale(block, layer, pos, kvHead);
                for (int i = 0; i < headDim; i++) dst[off + i] = scale * block.get(ValueLayout.JAVA_BYTE, ko + i);
            }
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
