package dev.longbow.backend.cpu;

/**
 * The keys one query sees, as ascending, disjoint [start, end) position ranges. Touching ranges are merged, so a
 * pattern that happens to cover every causal key yields the single range dense attention walks, in the same blocks.
 * One per thread, grown as needed and reused, so building it allocates nothing once warm.
 */
final class KeySpans {
    private int[] bounds = new int[32];
    private int count;

    void clear() {
        count = 0;
    }

    int count() {
        return count;
    }

    int start(int i) {
        return bounds[2 * i];
    }

    int end(int i) {
        return bounds[2 * i + 1];
    }

    /** Keys in all ranges. */
    int keys() {
        int n = 0;
        for (int i = 0; i < count; i++) n += bounds[2 * i + 1] - bounds[2 * i];
        return n;
    }

    /** Appends [start, end), which must not begin before the last range does. */
    void add(int start, int end) {
        if (start >= end) return;
        if (count > 0 && bounds[2 * count - 1] >= start) {
            bounds[2 * count - 1] = Math.max(bounds[2 * count - 1], end);
            return;
        }
        push(start, end);
    }

    /**
     * Adds one position below every position added since {@code first = count()}; {@link #reverseFrom(int)} then
     * puts those ranges in ascending order. Hash buckets are walked newest first, so this is the cheap way to collect them.
     */
    void addBelow(int pos) {
        if (count > 0 && bounds[2 * count - 2] == pos + 1) bounds[2 * count - 2] = pos;
        else push(pos, pos + 1);
    }

    /** Reverses the ranges from index {@code first} on, then merges the first of them into the range before it if they touch. */
    void reverseFrom(int first) {
        for (int i = first, j = count - 1; i < j; i++, j--) {
            int s = bounds[2 * i], e = bounds[2 * i + 1];
            bounds[2 * i] = bounds[2 * j];
            bounds[2 * i + 1] = bounds[2 * j + 1];
            bounds[2 * j] = s;
            bounds[2 * j + 1] = e;
        }
        if (first > 0 && first < count && bounds[2 * first - 1] >= bounds[2 * first]) {
            bounds[2 * first - 1] = Math.max(bounds[2 * first - 1], bounds[2 * first + 1]);
            System.arraycopy(bounds, 2 * first + 2, bounds, 2 * first, 2 * (count - first - 1));
            count--;
        }
    }

    private void push(int start, int end) {
        if (2 * count + 2 > bounds.length) bounds = java.util.Arrays.copyOf(bounds, 2 * bounds.length);
        bounds[2 * count] = start;
        bounds[2 * count + 1] = end;
        count++;
    }
}
