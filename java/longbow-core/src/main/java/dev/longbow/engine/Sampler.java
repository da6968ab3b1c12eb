package dev.longbow.engine;

import java.util.Arrays;

/**
 * Picks tokens from logits. Deterministic for a seed: the generator is llama2.c's xorshift64*, so the stream of
 * random numbers does not depend on the JDK. Not thread-safe: one per sequence.
 */
public final class Sampler {
    private final SamplerParams p;
    private long state;
    // Reused from token to token: sampling allocates nothing once they have grown to the vocabulary.
    private float[] penalized = new float[0];
    private int[] seenStamp = new int[0];
    private int stamp;
    private long[] candidates = new long[0];
    /** The best candidates so far in order, and their probabilities; the rest wait in a heap of heapSize in candidates. */
    private int[] rankedIds = new int[0];
    private float[] probs = new float[0];
    private int ranked, heapSize;
    /** The best candidate's logit over the temperature: probabilities are exp(logit / T - max). */
    private float max;

    /** Counts of each token generated so far (the history after the prompt), for presence and frequency. */
    private int[] occurrences = new int[0], generatedTokens = new int[0];
    private int distinct, counted;

    public Sampler(SamplerParams params) {
        this(params, 0);
    }

    /** A sampler for a sequence whose history starts with {@code promptLength} prompt tokens (not penalized by presence or frequency). */
    public Sampler(SamplerParams params, int promptLength) {
        this.p = params;
        this.state = params.seed() == 0 ? 0x9E3779B97F4A7C15L : params.seed();
        this.counted = promptLength;
    }

    /** Chooses the next token; {@code history[0..historyLength)} are the tokens so far (for the repetition penalty). */
    public int sample(float[] logits, int[] history, int historyLength) {
        boolean repetition = p.repetitionPenalty() != 1f && p.repetitionWindow() > 0;
        boolean occurrence = p.presencePenalty() != 0f || p.frequencyPenalty() != 0f;
        if (repetition || occurrence || p.logitBias().size() > 0) logits = adjusted(logits, history, historyLength, repetition, occurrence);
        if (p.temperature() == 0f) return argmax(logits);

        int n = logits.length;
        int keep = p.topK() > 0 ? Math.min(p.topK(), n) : n;
        double sum = rank(logits, keep);
        if (p.topP() < 1f) {
            double cum = 0;
            for (int i = 0; i < keep; i++) {
                cum += prob(logits, i) / sum;
                if (cum >= p.topP()) {
                    keep = i + 1;
                    break;
                }
            }
        }
        if (p.minP() > 0f) {
            float threshold = prob(logits, 0) * p.minP();
            int k = 1;
            while (k < keep && prob(logits, k) >= threshold) k++;
            keep = k;
        }
        double total = sum;
        if (keep < n) {
            total = 0;
            for (int i = 0; i < keep; i++) total += prob(logits, i);
        }
        double r = nextFloat() * total;
        double cdf = 0;
        for (int i = 0; i < keep; i++) {
            cdf += prob(logits, i);
            if (r < cdf) return rankedIds[i];
        }
        prob(logits, keep - 1);
        return rankedIds[keep - 1];
    }

    /**
     * Orders the candidates best first (higher logit, then lower id, so no sort's stability matters) and returns the
     * sum of their probabilities (unnormalized, exp(logit / T - {@link #max})). With a top-k, the k best are found with a heap
     * (O(n log k)) and ranked at once, summed in that order. Without, every candidate goes into a heap and is ranked
     * only when asked for ({@link #prob}): sampling from a peaked distribution ranks a handful, and the sum is taken
     * in id order.
     */
    private double rank(float[] logits, int k) {
        int n = logits.length;
        if (candidates.length != n) {
            candidates = new long[n];
            rankedIds = new int[n];
            probs = new float[n];
        }
        long[] c = candidates;
        ranked = 0;
        if (k == n) {
            // A max-heap of the inverted keys: the best candidate at the root.
            float best = logits[0];
            for (int i = 0; i < n; i++) {
                c[i] = ~key(logits[i], i);
                if (logits[i] > best) best = logits[i];
            }
            max = best / p.temperature();
            double sum = 0;
            for (int i = 0; i < n; i++) sum += (float) Math.exp(logits[i] / p.temperature() - max);
            for (int i = n / 2 - 1; i >= 0; i--) siftDown(c, i, n);
            heapSize = n;
            return sum;
        }
        // A max-heap on the key: its root is the worst of the k kept, replaced by anything better.
        for (int i = 0; i < k; i++) c[i] = key(logits[i], i);
        for (int i = k / 2 - 1; i >= 0; i--) siftDown(c, i, k);
        for (int i = k; i < n; i++) {
            long key = key(logits[i], i);
            if (key < c[0]) {
                c[0] = key;
                siftDown(c, 0, k);
            }
        }
        Arrays.sort(c, 0, k);
        heapSize = 0;
        max = logits[(int) c[0]] / p.temperature();
        double sum = 0;
        for (int i = 0; i < k; i++) {
            rankedIds[i] = (int) c[i];
            probs[i] = (float) Math.exp(logits[rankedIds[i]] / p.temperature() - max);
            sum += probs[i];
        }
        ranked = k;
        return sum;
    }

    /** The probability (unnormalized) of the i-th best candidate, ranking the next ones from the heap as needed. */
    private float prob(float[] logits, int i) {
        while (ranked <= i) {
            long[] heap = candidates;
            long best = heap[0];
            heap[0] = heap[--heapSize];
            siftDown(heap, 0, heapSize);
            int id = (int) ~best;
            rankedIds[ranked] = id;
            probs[ranked++] = (float) Math.exp(logits[id] / p.temperature() - max);
        }
        return probs[i];
    }

    /**
     * The logits plus the logit bias, with each token seen in the window divided by the repetition penalty (multiplied
     * when negative), once each, then each generated token's presence and frequency penalties subtracted.
     */
    private float[] adjusted(float[] logits, int[] history, int historyLength, boolean repetition, boolean occurrence) {
        int n = logits.length;
        if (penalized.length != n) { // the result goes to argmax, which reads the whole array
            penalized = new float[n];
            seenStamp = new int[n];
            stamp = 0;
        }
        if (++stamp == 0) { // wrapped: the old marks could match again
            Arrays.fill(seenStamp, 0);
            stamp = 1;
        }
        float[] out = penalized;
        System.arraycopy(logits, 0, out, 0, n);
        LogitBias bias = p.logitBias();
        for (int i = 0; i < bias.size(); i++) {
            int t = bias.tokens()[i];
            if (t < n) out[t] += bias.values()[i];
        }
        if (repetition) {
            for (int i = Math.max(0, historyLength - p.repetitionWindow()); i < historyLength; i++) {
                int t = history[i];
                if (t < 0 || t >= n || seenStamp[t] == stamp) continue;
                seenStamp[t] = stamp;
                out[t] = out[t] > 0 ? out[t] / p.repetitionPenalty() : out[t] * p.repetitionPenalty();
            }
        }
        if (occurrence) {
            if (occurrences.length != n) {
                occurrences = new int[n];
                generatedTokens = new int[n];
            }
            // Counted once each as the sequence grows: a token's history never changes behind it.
            for (; counted < historyLength; counted++) {
                int t = history[counted];
                if (t >= 0 && t < n && occurrences[t]++ == 0) generatedTokens[distinct++] = t;
            }
            for (int i = 0; i < distinct; i++) {
                int t = generatedTokens[i];
                out[t] -= p.presencePenalty() + p.frequencyPenalty() * occurrences[t];
            }
        }
        return out;
    }

    private static void siftDown(long[] heap, int i, int size) {
        long v = heap[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) break;
            if (child + 1 < size && heap[child + 1] > heap[child]) child++;
            if (heap[child] <= v) break;
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = v;
    }

    /** Sorts ascending as (logit descending, id ascending): the logit's bits made order-preserving, inverted, above the id. */
    static long key(float logit, int id) {
        int bits = Float.floatToIntBits(logit + 0f); // -0.0 ties with 0.0, as the comparison of the values does
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff);
        return ((long) ~ordered << 32) | id;
    }

    /** The first index of the largest value, as run.c's sample_argmax. */
    public static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    private float nextFloat() {
        state ^= state >>> 12;
        state ^= state << 25;
        state ^= state >>> 27;
        int u32 = (int) ((state * 0x2545F4914F6CDD1DL) >>> 32);
        return (u32 >>> 8) / 16777216.0f;
    }
}
