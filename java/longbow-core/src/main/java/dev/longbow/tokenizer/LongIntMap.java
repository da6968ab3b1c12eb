package dev.longbow.tokenizer;

import java.util.Arrays;

/** An open-addressing map from long keys to non-negative ints, for the tokenizers' hot lookups without boxing. */
final class LongIntMap {
    private long[] keys;
    private int[] values; // -1 marks an empty slot
    private int size, mask;

    LongIntMap(int expected) {
        int capacity = Integer.highestOneBit(Math.max(4, expected) * 2 - 1) << 1;
        keys = new long[capacity];
        values = new int[capacity];
        Arrays.fill(values, -1);
        mask = capacity - 1;
    }

    /** The value of {@code key}, or -1. */
    int get(long key) {
        for (int i = slot(key); ; i = (i + 1) & mask) {
            int v = values[i];
            if (v < 0 || keys[i] == key) return v;
        }
    }

    /** Sets {@code key} to {@code value} (which must be >= 0) unless it is already present; returns the value now held. */
    int putIfAbsent(long key, int value) {
        if ((size + 1) * 2 > keys.length) grow();
        for (int i = slot(key); ; i = (i + 1) & mask) {
            if (values[i] < 0) {
                keys[i] = key;
                values[i] = value;
                size++;
                return value;
            }
            if (keys[i] == key) return values[i];
        }
    }

    int size() {
        return size;
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29) ^ (h >>> 47)) & mask;
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new int[oldKeys.length * 2];
        Arrays.fill(values, -1);
        mask = keys.length - 1;
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) if (oldValues[i] >= 0) putIfAbsent(oldKeys[i], oldValues[i]);
    }
}
