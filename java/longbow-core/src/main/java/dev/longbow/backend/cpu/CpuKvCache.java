package dev.longbow.backend.cpu;

import dev.longbow.backend.KvCache;
import dev.longbow.backend.KvType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Keys and values off the heap in blocks of {@link #BLOCK_POSITIONS} positions of every layer, taken from a
 * {@link CpuKvPool} when a block's first position is written: memory follows the positions used, not the context
 * length, and a block table maps position / BLOCK_POSITIONS to its block. One block holds all layers because which
 * positions are visible never depends on the layer, so a block is freed whole.
 * <p>
 * Storage per {@link KvType}: F32; F16 (IEEE half, little-endian); Q8 (int8 with one float scale per position and
 * head, absmax / 127, rounded to nearest). Blocks evicted by {@link #evict} go back to the pool and are reused before
 * any new one is reserved. A block shared with another cache of the same pool (an attached prefix) is copied before
 * this cache writes into it. The block table grows with the highest position written (12 bytes per block), the only
 * part that does not shrink.
 */
final class CpuKvCache implements KvCache {
    static final int BLOCK_SHIFT = 6;
    /** Positions per block: the attention's key block, and little memory wasted on a half-used last block. */
    static final int BLOCK_POSITIONS = 1 << BLOCK_SHIFT;
    private static final int POSITION_MASK = BLOCK_POSITIONS - 1;
    private static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    final CpuKvPool pool;
    /** This cache's own pool, closed with it (the single-sequence path), rather than a scheduler's. */
    private final boolean ownsPool;
    final KvType type;
    final int layers;
    final int contextLength;
    final int kvHeads;
    final int kvDim;
    final int headDim;
    private final int elementBytes;
    private final long valuesAt, keyScalesAt, valueScalesAt;
    final long blockBytes;
    private final int maxBlocks;
    /** Per block index: its memory (what attention reads) and its id in the pool (-1 when none). */
    private MemorySegment[] table;
    private int[] ids;
    private int held;
    /** Blocks below this were evicted (or never written); eviction resumes here. */
    private int evictedBelow;

    CpuKvCache(int layers, int contextLength, int kvHeads, int headDim, KvType type) {
        this(layers, contextLength, kvHeads, headDim, type, dev.longbow.util.SystemMemory.TOTAL_BYTES);
    }

    CpuKvCache(int layers, int contextLength, int kvHeads, int headDim, KvType type, long memoryLimit) {
        this(new CpuKvPool(layers, kvHeads, headDim, type, memoryLimit, false), contextLength, true);
    }

    CpuKvCache(CpuKvPool pool, int contextLength, boolean ownsPool) {
        this.pool = pool;
        this.ownsPool = ownsPool;
        this.type = pool.type;
        this.layers = pool.layers;
        this.contextLength = contextLength;
        this.kvHeads = pool.kvHeads;
        this.headDim = pool.headDim;
        this.kvDim = pool.kvDim;
        elementBytes = pool.elementBytes;
        valuesAt = pool.valuesAt;
        keyScalesAt = pool.keyScalesAt;
        valueScalesAt = pool.valueScalesAt;
        blockBytes = pool.blockBytes;
        maxBlocks = (int) ((contextLength + (long) BLOCK_POSITIONS - 1) >>> BLOCK_SHIFT);
        table = new MemorySegment[Math.min(maxBlocks, 16)];
        ids = new int[table.length];
        Arrays.fill(ids, -1);
    }

    /** Bytes one position of one layer takes: keys, values and their scales. */
    long bytesPerPositionPerLayer() {
        return blockBytes / ((long) layers * BLOCK_POSITIONS);
    }

    /** Alone, every block its pool reserved (spares included); in a shared pool, the blocks it holds. */
    @Override
    public long reservedBytes() {
        return ownsPool ? pool.reservedBytes() : held * blockBytes;
    }

    int heldBlocks() {
        return held;
    }

    int blockId(int b) {
        return b < ids.length ? ids[b] : -1;
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

    private void ensureTable(int b, int pos) {
        if (b < table.length) return;
        if (b >= maxBlocks) throw new IllegalArgumentException("position " + pos + " is beyond the cache's " + contextLength);
        int n = (int) Math.min(maxBlocks, Math.max(b + 1L, 2L * table.length));
        int old = ids.length;
        table = Arrays.copyOf(table, n);
        ids = Arrays.copyOf(ids, n);
        Arrays.fill(ids, old, n, -1);
    }

    /** The block position {@code pos} is written to: taken from the pool when absent, copied first when shared. */
    private MemorySegment blockFor(int pos) {
        int b = pos >>> BLOCK_SHIFT;
        ensureTable(b, pos);
        int id = ids[b];
        if (id < 0) {
            id = pool.take(pos);
            held++;
            evictedBelow = Math.min(evictedBelow, b);
        } else if (pool.sharedBlock(id)) {
            id = pool.copyOnWrite(id, pos);
        } else {
            pool.unpublish(id); // its contents are about to change
            return table[b];
        }
        ids[b] = id;
        return table[b] = pool.segment(id);
    }

    /** Block {@code b} now holds pool block {@code id}, already retained for this cache (an attached prefix). */
    void attach(int b, int id) {
        ensureTable(b, b << BLOCK_SHIFT);
        ids[b] = id;
        table[b] = pool.segment(id);
        held++;
    }

    /** Blocks writing positions [from, to) takes from the pool: the absent ones and the shared ones. */
    int blocksToWrite(int from, int to) {
        int n = 0;
        for (int b = from >>> BLOCK_SHIFT; b <= (to - 1) >>> BLOCK_SHIFT && to > from; b++) {
            int id = blockId(b);
            if (id < 0 || pool.sharedBlock(id)) n++;
        }
        return n;
    }

    @Override
    public void evict(int keep, int before) {
        int firstFree = (int) ((keep + (long) BLOCK_POSITIONS - 1) >>> BLOCK_SHIFT); // blocks holding a kept position stay
        int end = Math.min(table.length, Math.max(0, before) >>> BLOCK_SHIFT);      // blocks wholly below before
        for (int b = Math.max(firstFree, evictedBelow); b < end; b++) {
            if (ids[b] >= 0) {
                pool.release(ids[b]);
                ids[b] = -1;
                table[b] = null;
                held--;
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

    /**
     * Scores q · key of head {@code kvHead} for the consecutive positions [first, first + count), into
     * scores[at, at + count): each exactly what {@link #dotKey} gives, F32 keys 16 at a time where the head dimension
     * allows ({@link VectorKernels#dotRows16}), the others one by one.
     */
    void dotKeys(float[] q, int qo, int layer, int first, int count, int kvHead, float[] scores, int at) {
        long stride = (long) kvDim * elementBytes;
        for (int j = 0; j < count; ) {
            int pos = first + j, run = Math.min(count - j, BLOCK_POSITIONS - (pos & POSITION_MASK)), k = 0;
            if (type == KvType.F32 && VectorKernels.dotRows16Fits(headDim)) {
                MemorySegment block = table[pos >>> BLOCK_SHIFT];
                for (long key = at(layer, pos, kvHead); k + 16 <= run; k += 16, key += 16 * stride) {
                    VectorKernels.dotRows16(q, qo, block, key, stride, headDim, scores, at + j + k);
                }
            }
            for (; k < run; k++) scores[at + j + k] = dotKey(q, qo, layer, pos + k, kvHead);
            j += run;
        }
    }

    /**
     * out += weights[from + j] * value of head {@code kvHead} at first + j, for j in [0, count) in that order: what
     * {@link #addValue} gives one value at a time. F32 values of 16-lane multiples go through
     * {@link VectorKernels#addWeightedRows}, which keeps the running sums in registers across a block's values
     * instead of reading and writing out once per value.
     */
    void addValues(float[] weights, int from, int count, int layer, int first, int kvHead, float[] out, int oo) {
        long stride = (long) kvDim * elementBytes;
        for (int j = 0; j < count; ) {
            int pos = first + j, run = Math.min(count - j, BLOCK_POSITIONS - (pos & POSITION_MASK));
            if (type == KvType.F32 && VectorKernels.addWeightedRowsFits(headDim)) {
                VectorKernels.addWeightedRows(weights, from + j, run, table[pos >>> BLOCK_SHIFT], valuesAt + at(layer, pos, kvHead), stride,
                        out, oo, headDim);
            } else {
                for (int k = 0; k < run; k++) addValue(weights[from + j + k], layer, pos + k, kvHead, out, oo);
            }
            j += run;
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

    /** Gives every block back to the pool (closes the pool too when it is this cache's own). */
    @Override
    public void close() {
        if (ownsPool) {
            pool.close();
            return;
        }
        for (int b = 0; b < ids.length; b++) {
            if (ids[b] >= 0) pool.release(ids[b]);
            ids[b] = -1;
            table[b] = null;
        }
        held = 0;
    }
}
