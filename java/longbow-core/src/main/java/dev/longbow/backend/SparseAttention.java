package dev.longbow.backend;

import dev.longbow.LongbowException;

/**
 * Which keys a query scores beyond the causal mask, for long prompts where dense attention's quadratic cost dominates.
 * Keys are grouped in blocks of {@code block} positions.
 * <ul>
 *   <li>{@code LOCAL_GLOBAL} (Longformer, BigBird): a query sees its own block and the {@code localBlocks} blocks
 *       before it, plus the first {@code globalBlocks} blocks of the sequence.</li>
 *   <li>{@code LSH} (Reformer): keys and queries are hashed {@code lshRounds} times by random rotations into
 *       {@code lshBuckets} angular buckets (argmax over [xR; -xR], fixed seed); a query sees the keys that share a
 *       bucket with it in any round, plus its own block, so it always sees at least itself.</li>
 * </ul>
 * Both stay causal and are further limited by the attention window, if any.
 */
public record SparseAttention(SparsePattern pattern, int block, int localBlocks, int globalBlocks, int lshBuckets, int lshRounds) {
    /** The online softmax's key block: a local window then spans whole steps of it. */
    public static final int DEFAULT_BLOCK = 64;
    public static final int DEFAULT_LOCAL_BLOCKS = 4;
    public static final int DEFAULT_GLOBAL_BLOCKS = 1;
    public static final int DEFAULT_LSH_BUCKETS = 16;
    public static final int DEFAULT_LSH_ROUNDS = 2;
    /** Buckets are stored in 16 bits beside the cache. */
    public static final int MAX_LSH_BUCKETS = 1 << 15;

    public static final SparseAttention NONE = of(SparsePattern.NONE);

    public SparseAttention {
        if (pattern == null) pattern = SparsePattern.NONE;
        if (block < 1) throw new LongbowException("sparse attention block must be >= 1, got " + block);
        if (localBlocks < 0) throw new LongbowException("sparse attention local blocks must be >= 0, got " + localBlocks);
        if (globalBlocks < 0) throw new LongbowException("sparse attention global blocks must be >= 0, got " + globalBlocks);
        // Reformer's hash picks among +-projections, so every bucket but the single one comes in a pair.
        if (lshBuckets < 1 || lshBuckets > MAX_LSH_BUCKETS || (lshBuckets > 1 && lshBuckets % 2 != 0)) {
            throw new LongbowException("LSH buckets must be 1 or an even number up to " + MAX_LSH_BUCKETS + ", got " + lshBuckets);
        }
        if (lshRounds < 1) throw new LongbowException("LSH rounds must be >= 1, got " + lshRounds);
    }

    /** The pattern with the default block, window and hashing. */
    public static SparseAttention of(SparsePattern pattern) {
        return new SparseAttention(pattern, DEFAULT_BLOCK, DEFAULT_LOCAL_BLOCKS, DEFAULT_GLOBAL_BLOCKS, DEFAULT_LSH_BUCKETS, DEFAULT_LSH_ROUNDS);
    }

    public boolean dense() {
        return pattern == SparsePattern.NONE;
    }

    public SparseAttention withBlocks(int block, int localBlocks, int globalBlocks) {
        return new SparseAttention(pattern, block, localBlocks, globalBlocks, lshBuckets, lshRounds);
    }

    public SparseAttention withLsh(int buckets, int rounds) {
        return new SparseAttention(pattern, block, localBlocks, globalBlocks, buckets, rounds);
    }
}
