package dev.longbow.backend.cpu;

import dev.longbow.LongbowException;
import dev.longbow.backend.KvBlockPool;
import dev.longbow.backend.KvCache;
import dev.longbow.backend.KvType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HashMap;

/**
 * Off-heap KV blocks for {@link CpuKvCache}s, by id, with reference counts and the prefix index of {@link KvBlockPool}.
 * Memory is reserved when a block is first needed and never returned before {@link #close}: freed blocks are reused,
 * so the memory held is the most ever in use at once. A cache made alone (the single-sequence path) has a pool of its
 * own bounded by the machine's memory; a scheduler's caches share one bounded by its budget.
 * <p>
 * Block layout: keys [layer][position][kvDim], values the same, then (Q8 only) key scales [layer][position][kvHead]
 * and value scales the same.
 */
final class CpuKvPool implements KvBlockPool {
    final KvType type;
    final int layers, kvHeads, headDim, kvDim, elementBytes;
    /** Offsets within a block of the values, the key scales and the value scales (the last two Q8 only). */
    final long valuesAt, keyScalesAt, valueScalesAt, blockBytes;
    private final long budgetBytes;
    /** True for a scheduler's pool (the budget is --kv-memory), false for one cache's own (the machine's memory). */
    private final boolean shared;
    private final int maxBlocks;
    private final Arena arena = Arena.ofShared();

    private MemorySegment[] segments = new MemorySegment[16];
    private int[] refs = new int[16];
    private int reserved;
    /** Ids with no holder and no published prefix, ready for reuse. */
    private int[] free = new int[16];
    private int freeCount;
    /** Ids with no holder but a published prefix, least recently released first: a doubly linked list by id. */
    private int[] lruPrev = new int[16], lruNext = new int[16];
    private int lruHead = -1, lruTail = -1, cachedCount;
    /** Per id: the published prefix it holds (0 and null when none); serials are never reused, so a stale parent matches nothing. */
    private long[] serial = new long[16];
    private PrefixKey[] key = new PrefixKey[16];
    private long nextSerial = 1;
    private final HashMap<PrefixKey, Integer> index = new HashMap<>();
    private long prefixHits, copiesOnWrite;

    /** A block's contents as the index knows them: the block before it, what decided its values, and its tokens. */
    private record PrefixKey(long parent, long salt, int[] tokens) {
        @Override
        public boolean equals(Object o) {
            return o instanceof PrefixKey k && k.parent == parent && k.salt == salt && Arrays.equals(k.tokens, tokens);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(parent) * 31 * 31 + Long.hashCode(salt) * 31 + Arrays.hashCode(tokens);
        }
    }

    CpuKvPool(int layers, int kvHeads, int headDim, KvType type, long budgetBytes, boolean shared) {
        this.type = type;
        this.layers = layers;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.kvDim = kvHeads * headDim;
        this.budgetBytes = budgetBytes;
        this.shared = shared;
        elementBytes = type.elementBytes();
        long rows = (long) layers * CpuKvCache.BLOCK_POSITIONS;
        valuesAt = rows * kvDim * elementBytes;
        keyScalesAt = 2 * valuesAt;
        long scaleBytes = type == KvType.Q8 ? rows * kvHeads * Float.BYTES : 0;
        valueScalesAt = keyScalesAt + scaleBytes;
        blockBytes = valueScalesAt + scaleBytes;
        assert blockBytes == CpuKvCache.BLOCK_POSITIONS * type.bytesPerPosition(layers, kvHeads, headDim);
        // One cache's own pool is bounded in bytes when a block is reserved, with advice for a single sequence.
        maxBlocks = (int) (shared ? Math.min(Integer.MAX_VALUE - 8, budgetBytes / blockBytes) : Integer.MAX_VALUE - 8);
        if (shared && maxBlocks < 1) {
            throw new LongbowException(String.format("a KV memory budget of %,d bytes holds no block; one block of %d positions takes %,d bytes",
                    budgetBytes, CpuKvCache.BLOCK_POSITIONS, blockBytes));
        }
    }


    @Override
    public int blockPositions() {
        return CpuKvCache.BLOCK_POSITIONS;
    }

    @Override
    public long blockBytes() {
        return blockBytes;
    }

    @Override
    public int capacityBlocks() {
        return maxBlocks;
    }

    @Override
    public int freeBlocks() {
        return freeCount + cachedCount + (maxBlocks - reserved);
    }

    long reservedBytes() {
        return reserved * blockBytes;
    }

    @Override
    public KvCache newCache(int contextLength) {
        return new CpuKvCache(this, contextLength, false);
    }

    MemorySegment segment(int id) {
        return segments[id];
    }

    /** A block for the caller alone (one reference): a spare one, a new one, or the least recently used cached prefix. */
    int take(int pos) {
        int id;
        if (freeCount > 0) id = free[--freeCount];
        else if (reserved < maxBlocks) id = reserve(pos);
        else if (lruHead >= 0) {
            id = lruHead;
            unlinkLru(id);
            unpublish(id);
        } else throw exhausted(pos);
        refs[id] = 1;
        return id;
    }

    /** Another holder of {@code id}. */
    void retain(int id) {
        if (refs[id]++ == 0) unlinkLru(id);
    }

    /** One holder fewer: the last one's leaving makes the block spare, or cached while it holds a published prefix. */
    void release(int id) {
        if (--refs[id] > 0) return;
        if (serial[id] != 0) linkLru(id);
        else free[freeCount++] = id;
    }

    boolean sharedBlock(int id) {
        return refs[id] > 1;
    }

    /** A copy of shared block {@code id} for the caller alone, which gives up its reference to the original. */
    int copyOnWrite(int id, int pos) {
        int copy = take(pos);
        MemorySegment.copy(segments[id], 0, segments[copy], 0, blockBytes);
        release(id);
        copiesOnWrite++;
        return copy;
    }

    /** Forgets the prefix {@code id} holds: its holder is about to write into it. */
    void unpublish(int id) {
        if (serial[id] == 0) return;
        index.remove(key[id]);
        serial[id] = 0;
        key[id] = null;
    }

    private int reserve(int pos) {
        long after = reservedBytes() + blockBytes;
        // Allocation zero-fills, so a cache past the machine's memory would be killed by the OS rather than fail cleanly.
        if (!shared && budgetBytes > 0 && after > budgetBytes) {
            throw new LongbowException(String.format("the KV cache needs more than this machine's %.1f GiB of memory at position %,d; "
                    + "use fewer tokens, --kv-type f16 or q8, or --attn-window with --attn-sinks", budgetBytes / (double) (1L << 30), pos));
        }
        MemorySegment block;
        try {
            block = arena.allocate(blockBytes, 64);
        } catch (OutOfMemoryError e) {
            throw new LongbowException(String.format("the KV cache needs more than the %.1f GiB that can be allocated here at position %,d; "
                    + "use fewer tokens, --kv-type f16 or q8, or --attn-window with --attn-sinks", after / (double) (1L << 30), pos));
        }
        int id = reserved++;
        if (id == segments.length) grow();
        segments[id] = block;
        return id;
    }

    private LongbowException exhausted(int pos) {
        return new LongbowException(String.format("the KV memory budget (%,d blocks of %d positions, %.1f MiB) is in use at position %,d; "
                        + "raise --kv-memory or lower --parallel", maxBlocks, CpuKvCache.BLOCK_POSITIONS, maxBlocks * (double) blockBytes / (1 << 20), pos));
    }

    /** Every per-id array sized for twice the ids, and the free list for all of them, so releasing never allocates. */
    private void grow() {
        int n = 2 * segments.length;
        segments = Arrays.copyOf(segments, n);
        refs = Arrays.copyOf(refs, n);
        free = Arrays.copyOf(free, n);
        lruPrev = Arrays.copyOf(lruPrev, n);
        lruNext = Arrays.copyOf(lruNext, n);
        serial = Arrays.copyOf(serial, n);
        key = Arrays.copyOf(key, n);
    }

    private void linkLru(int id) {
        lruPrev[id] = lruTail;
        lruNext[id] = -1;
        if (lruTail >= 0) lruNext[lruTail] = id;
        else lruHead = id;
        lruTail = id;
        cachedCount++;
    }

    private void unlinkLru(int id) {
        int p = lruPrev[id], n = lruNext[id];
        if (p >= 0) lruNext[p] = n;
        else lruHead = n;
        if (n >= 0) lruPrev[n] = p;
        else lruTail = p;
        cachedCount--;
    }

    @Override
    public int attachPrefix(KvCache kv, int[] tokens, int length, long salt) {
        CpuKvCache cache = cache(kv);
        if (cache.heldBlocks() != 0) throw new IllegalStateException("a prefix can only be attached to an empty cache");
        int p = CpuKvCache.BLOCK_POSITIONS;
        long parent = 0;
        int b = 0;
        for (; (b + 1L) * p <= length && (b + 1L) * p <= cache.contextLength(); b++) {
            Integer id = index.get(new PrefixKey(parent, salt, Arrays.copyOfRange(tokens, b * p, (b + 1) * p)));
            if (id == null) break;
            retain(id);
            cache.attach(b, id);
            parent = serial[id];
        }
        prefixHits += (long) b * p;
        return b * p;
    }

    @Override
    public void publishPrefix(KvCache kv, int[] tokens, int length, long salt) {
        CpuKvCache cache = cache(kv);
        int p = CpuKvCache.BLOCK_POSITIONS;
        long parent = 0;
        for (int b = 0; (b + 1L) * p <= length; b++) {
            int id = cache.blockId(b);
            if (id < 0) return; // evicted by a window: nothing after it can be found from the start
            PrefixKey k = new PrefixKey(parent, salt, Arrays.copyOfRange(tokens, b * p, (b + 1) * p));
            Integer known = index.get(k);
            if (known == null) {
                unpublish(id);
                serial[id] = nextSerial++;
                key[id] = k;
                index.put(k, id);
                known = id;
            }
            // When another sequence published the same contents first, the chain goes on through its block.
            parent = serial[known];
        }
    }

    @Override
    public int blocksToWrite(KvCache kv, int from, int to) {
        return cache(kv).blocksToWrite(from, to);
    }

    private CpuKvCache cache(KvCache kv) {
        if (!(kv instanceof CpuKvCache c) || c.pool != this) throw new IllegalArgumentException("the cache is not from this pool");
        return c;
    }

    @Override
    public Stats stats() {
        return new Stats(maxBlocks, reserved - freeCount - cachedCount, cachedCount, prefixHits, copiesOnWrite);
    }

    @Override
    public void close() {
        arena.close();
    }
}
