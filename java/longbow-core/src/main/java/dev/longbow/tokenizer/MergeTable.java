package dev.longbow.tokenizer;

/**
 * BPE merges: the pair (left id, right id) packed into a long, mapped to its rank (lower merges first) and the id it
 * merges into. Open addressing with linear probing; immutable once built.
 */
final class MergeTable {
    static final long NONE = -1;

    private final long[] keys;
    private final long[] values; // rank << 32 | merged id
    private final int mask;
    private final int size;

    /** Merge {@code i} of the arrays has rank {@code i}; a pair listed twice keeps its later rank, as Hugging Face's map does. */
    MergeTable(int[] left, int[] right, int[] merged) {
        int n = left.length;
        int cap = Integer.highestOneBit(Math.max(4, n * 2 - 1)) << 1;
        keys = new long[cap];
        values = new long[cap];
        java.util.Arrays.fill(keys, -1L);
        mask = cap - 1;
        int count = 0;
        for (int i = 0; i < n; i++) {
            long key = key(left[i], right[i]);
            int h = slot(key);
            while (keys[h] != -1L && keys[h] != key) h = (h + 1) & mask;
            if (keys[h] == -1L) count++;
            keys[h] = key;
            values[h] = ((long) i << 32) | (merged[i] & 0xFFFFFFFFL);
        }
        size = count;
    }

    int size() {
        return size;
    }

    static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29)) & mask;
    }

    /** {@code rank << 32 | merged id} for the pair, or {@link #NONE}. */
    long find(int left, int right) {
        long key = key(left, right);
        int h = slot(key);
        while (true) {
            long k = keys[h];
            if (k == key) return values[h];
            if (k == -1L) return NONE;
            h = (h + 1) & mask;
        }
    }
}
