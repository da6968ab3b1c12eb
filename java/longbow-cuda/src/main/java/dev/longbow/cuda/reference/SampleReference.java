package dev.longbow.cuda.reference;

import java.util.Arrays;

/**
 * sample_top_k's definition, which is dev.longbow.engine.Sampler's for a temperature > 0, 1 <= top-k and no
 * repetition penalty, given the draw u: candidates by descending logit (ties by id; NaN logits are never candidates),
 * float probabilities exp(logit / T - max) summed in double, cut at cumulative top-p, then at min-p times the best.
 */
public final class SampleReference {
    private SampleReference() {}

    public static int apply(float[] logits, int topK, float temperature, float topP, float minP, float u) {
        Integer[] order = new Integer[logits.length];
        int n = 0;
        for (int i = 0; i < logits.length; i++) if (!Float.isNaN(logits[i])) order[n++] = i;
        if (n == 0) return 0;
        Arrays.sort(order, 0, n, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
        int keep = Math.min(topK, n);
        float[] probs = new float[keep];
        float max = logits[order[0]] / temperature;
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            probs[i] = (float) Math.exp(logits[order[i]] / temperature - max);
            sum += probs[i];
        }
        if (topP < 1f) {
            double cum = 0;
            for (int i = 0; i < keep; i++) {
                cum += probs[i] / sum;
                if (cum >= topP) {
                    keep = i + 1;
                    break;
                }
            }
        }
        if (minP > 0f) {
            float threshold = probs[0] * minP;
            int k = 1;
            while (k < keep && probs[k] >= threshold) k++;
            keep = k;
        }
        double total = 0;
        for (int i = 0; i < keep; i++) total += probs[i];
        double r = u * total, cdf = 0;
        for (int i = 0; i < keep; i++) {
            cdf += probs[i];
            if (r < cdf) return order[i];
        }
        return order[keep - 1];
    }
}
