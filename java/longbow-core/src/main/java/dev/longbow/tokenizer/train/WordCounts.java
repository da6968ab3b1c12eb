package dev.longbow.tokenizer.train;

/**
 * Counts distinct words given as regions of a text. A region is hashed and compared where it lies, so a word seen
 * before costs no allocation; only a new word becomes a String. Corpora of hundreds of megabytes have tens of
 * millions of words but usually well under a few million distinct ones.
 */
final class WordCounts {
    private String[] keys = new String[1 << 14];
    private int[] hashes = new int[1 << 14];
    private long[] counts = new long[1 << 14];
    private int size;
    private long total;

    void add(CharSequence text, int start, int end) {
        int h = 0;
        for (int i = start; i < end; i++) h = 31 * h + text.charAt(i);
        int mask = keys.length - 1;
        int at = mix(h) & mask;
        while (true) {
            String key = keys[at];
            if (key == null) break;
            if (hashes[at] == h && sameText(key, text, start, end)) {
                counts[at]++;
                total++;
                return;
            }
            at = (at + 1) & mask;
        }
        keys[at] = text.subSequence(start, end).toString();
        hashes[at] = h;
        counts[at] = 1;
        total++;
        if (++size * 2 > keys.length) grow();
    }

    private static boolean sameText(String key, CharSequence text, int start, int end) {
        if (key.length() != end - start) return false;
        for (int i = 0; i < key.length(); i++) if (key.charAt(i) != text.charAt(start + i)) return false;
        return true;
    }

    private static int mix(int h) {
        return h ^ (h >>> 16) ^ (h >>> 7);
    }

    private void grow() {
        String[] oldKeys = keys;
        int[] oldHashes = hashes;
        long[] oldCounts = counts;
        int capacity = oldKeys.length * 2;
        keys = new String[capacity];
        hashes = new int[capacity];
        counts = new long[capacity];
        int mask = capacity - 1;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] == null) continue;
            int at = mix(oldHashes[i]) & mask;
            while (keys[at] != null) at = (at + 1) & mask;
            keys[at] = oldKeys[i];
            hashes[at] = oldHashes[i];
            counts[at] = oldCounts[i];
        }
    }

    /** Number of distinct words. */
    int distinct() {
        return size;
    }

    /** Number of words counted, repeats included. */
    long total() {
        return total;
    }

    interface Visitor {
        void word(String word, long count);
    }

    /** Visits every distinct word (the merges learned do not depend on the order). */
    void forEach(Visitor visitor) {
        for (int i = 0; i < keys.length; i++) if (keys[i] != null) visitor.word(keys[i], counts[i]);
    }
}
