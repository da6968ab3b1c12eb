package dev.longbow.tokenizer;

/**
 * Finds the id of a byte string given as a slice of a buffer, without building a String or array for the lookup:
 * open addressing over the ids, hashing their bytes. Immutable once built; the first id added for a string wins.
 */
final class ByteStringIndex {
    private final byte[][] keys; // by id; null for ids that are not indexed
    private final int[] slots;   // id + 1, 0 when empty
    private final int mask;
    private final int size;

    ByteStringIndex(byte[][] keysById) {
        this.keys = keysById;
        int n = 0;
        for (byte[] k : keysById) if (k != null) n++;
        int cap = Integer.highestOneBit(Math.max(4, n * 2 - 1)) << 1;
        slots = new int[cap];
        mask = cap - 1;
        int distinct = 0;
        for (int id = 0; id < keysById.length; id++) {
            byte[] k = keysById[id];
            if (k == null) continue;
            int h = hash(k, 0, k.length) & mask;
            boolean duplicate = false;
            while (slots[h] != 0) {
                byte[] other = keys[slots[h] - 1];
                if (java.util.Arrays.equals(other, k)) {
                    duplicate = true;
                    break;
                }
                h = (h + 1) & mask;
            }
            if (!duplicate) {
                slots[h] = id + 1;
                distinct++;
            }
        }
        size = distinct;
    }

    /** How many distinct byte strings are indexed. */
    int size() {
        return size;
    }

    /** The id whose bytes are {@code b[off, off+len)}, or -1. */
    int find(byte[] b, int off, int len) {
        int h = hash(b, off, len) & mask;
        while (true) {
            int s = slots[h];
            if (s == 0) return -1;
            byte[] k = keys[s - 1];
            if (k.length == len && java.util.Arrays.equals(k, 0, len, b, off, off + len)) return s - 1;
            h = (h + 1) & mask;
        }
    }

    static int hash(byte[] b, int off, int len) {
        int h = 0x9E3779B9 ^ len;
        for (int i = off; i < off + len; i++) h = (h ^ b[i]) * 0x01000193;
        return h ^ (h >>> 15);
    }
}
