package dev.longbow.engine;

import java.util.Arrays;

/**
 * Picks tokens from logits. Deterministic for a seed: the generator is llama2.c's xorshift64*, so the stream of
 * random numbers does not depend on the JDK. Not thread-safe: one per sequence.
 */
public final class Sampler {
    private final SamplerParams p;
    private long state;
    private float[] probs = new float[0];
    private Integer[] order = new Integer[0];

    public Sampler(SamplerParams params) {
        this.p = params;
        this.state = params.seed() == 0 ? 0x9E3779B97F4A7C15L : params.seed();
    }

    /** Chooses the next token; {@code history[0..historyLength)} are the tokens so far (for the repetition penalty). */
    public int sample(float[] logits, int[] history, int historyLength) {
        if (p.repetitionPenalty() != 1f && p.repetitionWindow() > 0) {
            logits = logits.clone();
            boolean[] seen = new boolean[logits.length];
            for (int i = Math.max(0, historyLength - p.repetitionWindow()); i < historyLength; i++) {
                int t = history[i];
                if (t < 0 || t >= logits.length || seen[t]) continue;
                seen[t] = true;
                logits[t] = logits[t] > 0 ? logits[t] / p.repetitionPenalty() : logits[t] * p.repetitionPenalty();
            }
        }
        if (p.temperature() == 0f) return argmax(logits);

        int n = logits.length;
        if (probs.length < n) {
            probs = new float[n];
            order = new Integer[n];
        }
        for (int i = 0; i < n; i++) order[i] = i;
        float[] l = logits;
        // Candidates sorted by logit, descending; ties by id, so the result does not depend on sort stability.
        Arrays.sort(order, 0, n, (a, b) -> l[a] != l[b] ? Float.compare(l[b], l[a]) : Integer.compare(a, b));
        int keep = p.topK() > 0 ? Math.min(p.topK(), n) : n;
        float max = logits[order[0]] / p.temperature();
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            probs[i] = (float) Math.exp(logits[order[i]] / p.temperature() - max);
            sum += probs[i];
        }
        if (p.topP() < 1f) {
            double cum = 0;
            for (int i = 0; i < keep; i++) {
                cum += probs[i] / sum;
                if (cum >= p.topP()) {
                    keep = i + 1;
                    break;
                }
            }
        }
        if (p.minP() > 0f) {
            float threshold = probs[0] * p.minP();
            int k = 1;
            while (k < keep && probs[k] >= threshold) k++;
            keep = k;
        }
        double total = 0;
        for (int i = 0; i < keep; i++) total += probs[i];
        double r = nextFloat() * total;
        double cdf = 0;
        for (int i = 0; i < keep; i++) {
            cdf += probs[i];
            if (r < cdf) return order[i];
        }
        return order[keep - 1];
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
