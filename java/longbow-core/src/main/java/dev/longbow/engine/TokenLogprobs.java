package dev.longbow.engine;

/**
 * The log-probability of a chosen token and of the {@code topTokens.length} most likely tokens at its position, from
 * the model's raw distribution: log-softmax of the logits the sampler was given, before temperature, penalties and
 * filters, as OpenAI's API reports them. Alternatives are ordered most likely first, ties by lower id.
 */
public record TokenLogprobs(int token, double logprob, int[] topTokens, double[] topLogprobs) {

    /** Log-softmax (in double) of {@code logits} at {@code chosen} and at the {@code top} largest logits. */
    public static TokenLogprobs of(float[] logits, int chosen, int top) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) if (l > max) max = l;
        double sum = 0;
        for (float l : logits) sum += Math.exp(l - max);
        double logZ = max + Math.log(sum);
        int k = Math.min(Math.max(top, 0), logits.length);
        int[] ids = new int[k];
        double[] lps = new double[k];
        // Insertion into a sorted list of k: top-N is small (OpenAI allows 20), the vocabulary large.
        int filled = 0;
        for (int i = 0; i < logits.length && k > 0; i++) {
            float l = logits[i];
            if (filled == k && !(l > logits[ids[k - 1]])) continue;
            int at = filled < k ? filled++ : k - 1;
            while (at > 0 && l > logits[ids[at - 1]]) {
                ids[at] = ids[at - 1];
                at--;
            }
            ids[at] = i;
        }
        for (int i = 0; i < k; i++) lps[i] = logits[ids[i]] - logZ;
        return new TokenLogprobs(chosen, logits[chosen] - logZ, ids, lps);
    }
}
