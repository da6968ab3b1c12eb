package dev.longbow.tokenizer.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Learns BPE merges (Sennrich et al.) over distinct words, each given as an array of symbol ids with the number of
 * times it occurs. Every step merges the adjacent pair with the highest count, weighted by word frequency.
 *
 * <p>Ties go to the pair with the smaller (left id, right id); ids are the initial tokens in the order given, then
 * merge results in the order they were made. With the initial characters sorted by code point this is exactly the
 * order Hugging Face's BpeTrainer uses, so on the same word counts both learn the same merges.
 *
 * <p>Each step costs only the words that contain the merged pair: pair counts are updated from the local changes
 * around every merged occurrence, each pair keeps the list of words it occurs in (stale entries are skipped when
 * visited), and a max-heap with lazy invalidation finds the best pair (an entry whose count is out of date is
 * pushed back with the current count when it reaches the top; counts only rise for pairs that are new, which are
 * pushed then).
 */
final class MergeLearner {
    /** Called after every merge with the merges done so far and the number the vocabulary size allows. */
    interface Progress {
        void merges(int done, int target);
    }

    /** Tokens in id order (initial ones first) and the merges in rank order, as (left id, right id, result id). */
    record Result(List<String> tokens, List<int[]> merges, long lastCount) {}

    private final List<String> tokens;
    private final Map<String, Integer> idOf = new HashMap<>();
    private final Set<String> reserved;

    // Words, their symbols (shrinking in place as merges apply) and counts.
    private final int[][] words;
    private final int[] wordLength;
    private final long[] wordCount;
    private final int[] wordStamp;

    // Pairs: an open-addressing table from (left << 32 | right) to a pair slot, and per-slot data.
    private long[] tableKey;
    private int[] tableSlot;
    private int tableMask;
    private int pairsUsed;
    private int[] pairLeft = new int[1024];
    private int[] pairRight = new int[1024];
    private long[] pairCount = new long[1024];
    private int[][] pairWords = new int[1024][];
    private int[] pairWordsSize = new int[1024];
    private boolean[] pairBanned = new boolean[1024];

    // Max-heap of (count, pair slot), ordered by count then by (left, right) ascending.
    private long[] heapCount = new long[1024];
    private int[] heapPair = new int[1024];
    private int heapSize;

    // Pairs whose count rose while applying the current merge; they get a fresh heap entry afterwards.
    private int[] risen = new int[256];
    private int risenSize;
    private int[] risenStamp = new int[1024];
    private int mergeNumber;

    /**
     * @param initialTokens the alphabet (and special tokens), ids 0.. in this order
     * @param reserved      spellings a merge must never produce (special and byte-fallback tokens); such a pair is
     *                      left unmerged
     * @param words         symbol ids per distinct word; the arrays are consumed (merged in place)
     */
    MergeLearner(List<String> initialTokens, Set<String> reserved, int[][] words, long[] counts) {
        this.tokens = new ArrayList<>(initialTokens);
        for (int i = 0; i < tokens.size(); i++) idOf.putIfAbsent(tokens.get(i), i);
        this.reserved = reserved;
        this.words = words;
        this.wordCount = counts;
        this.wordLength = new int[words.length];
        this.wordStamp = new int[words.length];
        Arrays.fill(wordStamp, -1);
        int capacity = 1 << 12;
        tableKey = new long[capacity];
        tableSlot = new int[capacity];
        Arrays.fill(tableSlot, -1);
        tableMask = capacity - 1;
        for (int w = 0; w < words.length; w++) {
            int[] s = words[w];
            wordLength[w] = s.length;
            for (int i = 0; i + 1 < s.length; i++) addToPair(s[i], s[i + 1], counts[w], w);
        }
        for (int p = 0; p < pairsUsed; p++) if (pairCount[p] > 0) push(pairCount[p], p);
    }

    /**
     * Merges until the vocabulary has {@code vocabSize} tokens or no pair occurs at least {@code minFrequency}
     * times (and at least once).
     */
    Result learn(int vocabSize, long minFrequency, Progress progress) {
        List<int[]> merges = new ArrayList<>();
        int target = Math.max(0, vocabSize - tokens.size());
        long lastCount = 0;
        while (idOf.size() < vocabSize && heapSize > 0) {
            long count = heapCount[0];
            int p = heapPair[0];
            pop();
            if (pairBanned[p]) continue;
            long current = pairCount[p];
            if (count != current) {
                if (current > 0) push(current, p);
                continue;
            }
            if (current < Math.max(1, minFrequency)) break;
            int left = pairLeft[p], right = pairRight[p];
            String merged = tokens.get(left) + tokens.get(right);
            if (reserved.contains(merged)) {
                pairBanned[p] = true;
                continue;
            }
            Integer existing = idOf.get(merged);
            int id;
            if (existing != null) {
                id = existing; // another pair already spelled this token; as in Hugging Face, the merge reuses its id
            } else {
                id = tokens.size();
                tokens.add(merged);
                idOf.put(merged, id);
            }
            merges.add(new int[] {left, right, id});
            lastCount = current;
            apply(p, left, right, id);
            if (progress != null) progress.merges(merges.size(), target);
        }
        return new Result(List.copyOf(tokens), merges, lastCount);
    }

    private void apply(int pair, int a, int b, int c) {
        mergeNumber++;
        risenSize = 0;
        int[] list = pairWords[pair];
        int size = pairWordsSize[pair];
        for (int k = 0; k < size; k++) {
            int w = list[k];
            if (wordStamp[w] == mergeNumber) continue;
            wordStamp[w] = mergeNumber;
            mergeInWord(w, a, b, c);
        }
        pairWords[pair] = null;
        pairWordsSize[pair] = 0;
        for (int i = 0; i < risenSize; i++) {
            int p = risen[i];
            if (pairCount[p] > 0 && !pairBanned[p]) push(pairCount[p], p);
        }
    }

    /**
     * Replaces every non-overlapping occurrence of (a, b), left to right, by c. The neighbours' pairs change with
     * it: left neighbour L loses (L, a) and gains (L, c), right neighbour R loses (b, R) and gains (c, R). L is taken
     * from the merged output, so in "a b a b" the second merge sees L = c and the counts come out as (c, c).
     */
    private void mergeInWord(int w, int a, int b, int c) {
        int[] s = words[w];
        int n = wordLength[w];
        long count = wordCount[w];
        int out = 0;
        int i = 0;
        while (i < n) {
            if (i + 1 < n && s[i] == a && s[i + 1] == b) {
                addToPair(a, b, -count, w);
                if (out > 0) {
                    int left = s[out - 1];
                    addToPair(left, a, -count, w);
                    addToPair(left, c, count, w);
                }
                if (i + 2 < n) {
                    int right = s[i + 2];
                    addToPair(b, right, -count, w);
                    addToPair(c, right, count, w);
                }
                s[out++] = c;
                i += 2;
            } else {
                s[out++] = s[i++];
            }
        }
        wordLength[w] = out;
    }

    private void addToPair(int left, int right, long delta, int word) {
        int p = slotOf(left, right);
        long count = pairCount[p] + delta;
        pairCount[p] = count;
        if (delta > 0) {
            int[] list = pairWords[p];
            int size = pairWordsSize[p];
            if (list == null) {
                list = pairWords[p] = new int[4];
            } else if (size == list.length) {
                list = pairWords[p] = Arrays.copyOf(list, size * 2);
            }
            list[size] = word;
            pairWordsSize[p] = size + 1;
            if (risenStamp[p] != mergeNumber) {
                risenStamp[p] = mergeNumber;
                if (risenSize == risen.length) risen = Arrays.copyOf(risen, risenSize * 2);
                risen[risenSize++] = p;
            }
        } else if (count == 0) {
            pairWords[p] = null; // gone from every word; a pair that comes back starts a fresh list
            pairWordsSize[p] = 0;
        }
    }

    private int slotOf(int left, int right) {
        long key = ((long) left << 32) | (right & 0xffffffffL);
        int h = hash(key) & tableMask;
        while (true) {
            int slot = tableSlot[h];
            if (slot < 0) break;
            if (tableKey[h] == key) return slot;
            h = (h + 1) & tableMask;
        }
        int slot = pairsUsed++;
        if (slot == pairLeft.length) growPairs();
        pairLeft[slot] = left;
        pairRight[slot] = right;
        pairCount[slot] = 0;
        risenStamp[slot] = -1;
        tableKey[h] = key;
        tableSlot[h] = slot;
        if (pairsUsed * 2 > tableMask) growTable();
        return slot;
    }

    private static int hash(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    private void growPairs() {
        int n = pairLeft.length * 2;
        pairLeft = Arrays.copyOf(pairLeft, n);
        pairRight = Arrays.copyOf(pairRight, n);
        pairCount = Arrays.copyOf(pairCount, n);
        pairWords = Arrays.copyOf(pairWords, n);
        pairWordsSize = Arrays.copyOf(pairWordsSize, n);
        pairBanned = Arrays.copyOf(pairBanned, n);
        risenStamp = Arrays.copyOf(risenStamp, n);
    }

    private void growTable() {
        long[] oldKey = tableKey;
        int[] oldSlot = tableSlot;
        int capacity = oldKey.length * 2;
        tableKey = new long[capacity];
        tableSlot = new int[capacity];
        Arrays.fill(tableSlot, -1);
        tableMask = capacity - 1;
        for (int i = 0; i < oldKey.length; i++) {
            if (oldSlot[i] < 0) continue;
            int h = hash(oldKey[i]) & tableMask;
            while (tableSlot[h] >= 0) h = (h + 1) & tableMask;
            tableKey[h] = oldKey[i];
            tableSlot[h] = oldSlot[i];
        }
    }

    // ---- heap ----

    /** True when entry i should be merged before entry j. */
    private boolean before(long countI, int pairI, long countJ, int pairJ) {
        if (countI != countJ) return countI > countJ;
        if (pairLeft[pairI] != pairLeft[pairJ]) return pairLeft[pairI] < pairLeft[pairJ];
        return pairRight[pairI] < pairRight[pairJ];
    }

    private void push(long count, int pair) {
        if (heapSize == heapCount.length) {
            heapCount = Arrays.copyOf(heapCount, heapSize * 2);
            heapPair = Arrays.copyOf(heapPair, heapSize * 2);
        }
        int i = heapSize++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!before(count, pair, heapCount[parent], heapPair[parent])) break;
            heapCount[i] = heapCount[parent];
            heapPair[i] = heapPair[parent];
            i = parent;
        }
        heapCount[i] = count;
        heapPair[i] = pair;
    }

    private void pop() {
        int last = --heapSize;
        long count = heapCount[last];
        int pair = heapPair[last];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= heapSize) break;
            if (child + 1 < heapSize && before(heapCount[child + 1], heapPair[child + 1], heapCount[child], heapPair[child])) child++;
            if (!before(heapCount[child], heapPair[child], count, pair)) break;
            heapCount[i] = heapCount[child];
            heapPair[i] = heapPair[child];
            i = child;
        }
        if (heapSize > 0) {
            heapCount[i] = count;
            heapPair[i] = pair;
        }
    }
}
