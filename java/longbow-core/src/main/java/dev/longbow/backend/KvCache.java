package dev.longbow.backend;

/**
 * Keys and values of every cached position, per layer; owned by the backend that allocated it. Memory is reserved in
 * blocks of positions as they are first written, so it grows with the positions used, not with {@link #contextLength()},
 * and blocks whose positions no later query can see (see {@link #evict}) are reused.
 */
public interface KvCache extends AutoCloseable {
    /** Positions this cache accepts at most (the logical limit: nothing is reserved for positions not yet written). */
    int contextLength();

    /** Bytes of memory the cache holds now: every block it has reserved, whether in use or kept for reuse. */
    long reservedBytes();

    /**
     * Declares that no later query will read positions in [{@code keep}, {@code before}): blocks holding only such
     * positions may be reused for new ones. Writing an evicted position again is allowed (the block comes back).
     */
    void evict(int keep, int before);

    /** Query-key dot products attention has computed over this cache so far (every layer and head). */
    default long scoresComputed() {
        return 0;
    }

    /** The dot products dense causal attention would have computed for the same queries. */
    default long scoresDense() {
        return 0;
    }

    /** The fraction of dense attention's score FLOPs that windows and sparse patterns skipped (0 when none were run). */
    default double scoresSkipped() {
        long dense = scoresDense();
        return dense == 0 ? 0 : 1 - (double) scoresComputed() / dense;
    }

    @Override
    void close();
}
