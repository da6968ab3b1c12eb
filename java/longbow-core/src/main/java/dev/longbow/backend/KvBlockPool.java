package dev.longbow.backend;

/**
 * KV blocks shared by the caches of many sequences under one memory budget, as a serving engine needs them: a cache
 * made by {@link #newCache} takes its blocks from here as positions are written and gives them back when evicted or
 * closed. Blocks are reference-counted so that sequences whose prompts begin alike hold the same blocks for that
 * prefix ({@link #attachPrefix}); a write into a block another cache still holds copies it first (copy-on-write).
 * <p>
 * A published prefix block outlives the sequence that wrote it: once no cache holds it, it waits in least-recently
 * used order and is reused for new positions only when no never-used or spare block is left, so a later request with
 * the same system prompt, or the next turn of a chat, finds it. Not thread-safe: one scheduler thread drives it.
 */
public interface KvBlockPool extends AutoCloseable {
    /** Positions one block holds (of every layer). */
    int blockPositions();

    /** Bytes one block takes. */
    long blockBytes();

    /** Blocks the budget allows at most. */
    int capacityBlocks();

    /** Blocks a write may still take: never reserved, spare, or holding only a cached prefix no cache holds. */
    int freeBlocks();

    /** An empty cache for up to {@code contextLength} positions whose blocks come from this pool. */
    KvCache newCache(int contextLength);

    /**
     * Makes the empty {@code cache} hold the longest published prefix of {@code tokens[0, length)} computed under
     * {@code salt} (whatever else decides the cached keys and values besides the tokens, such as the rotary table),
     * in whole blocks, and returns the positions it now holds: a multiple of {@link #blockPositions()}, at most length.
     */
    int attachPrefix(KvCache cache, int[] tokens, int length, long salt);

    /** Offers the whole blocks of {@code cache} holding {@code tokens[0, length)}, computed under {@code salt}, to later sequences. */
    void publishPrefix(KvCache cache, int[] tokens, int length, long salt);

    /** Blocks {@code cache} must take to write positions [from, to): those it lacks and those it shares with another cache. */
    int blocksToWrite(KvCache cache, int from, int to);

    /** Counters since the pool was made. */
    Stats stats();

    /**
     * @param blocksInUse   blocks held by at least one cache now
     * @param blocksCached  blocks holding a published prefix that no cache holds
     * @param prefixHits    positions attached from published prefixes (computed once, used again)
     * @param copiesOnWrite shared blocks copied before a write
     */
    record Stats(int capacityBlocks, int blocksInUse, int blocksCached, long prefixHits, long copiesOnWrite) {}

    @Override
    void close();
}
