package dev.longbow.engine;

import dev.longbow.LongbowException;
import dev.longbow.backend.Ops;
import dev.longbow.model.Transformer;
import dev.longbow.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * Perplexity over a token stream with sliding windows, as Hugging Face's perplexity guide computes it: windows of
 * {@code ctx} tokens start every {@code stride} tokens; each is a fresh sequence (BOS first when there is one);
 * of each window only the tokens no earlier window scored are scored, the rest are context. With stride = window
 * the windows are disjoint. The negative log-likelihood is summed in double; perplexity is exp of its mean.
 */
public final class Perplexity {
    /**
     * @param tokens        tokens scored
     * @param windows       sequences run
     * @param stride        text tokens between window starts (capped at the text a window holds)
     * @param forwardTokens tokens run through the model, context included
     * @param kvBytes       bytes of the KV cache one window used
     */
    public record Result(double perplexity, double nll, long tokens, int windows, int ctx, int stride, long forwardTokens,
                         long nanos, long kvBytes) {
        public double seconds() {
            return nanos / 1e9;
        }

        /** Tokens run through the model per second, context tokens included. */
        public double tokensPerSecond() {
            return nanos == 0 ? 0 : forwardTokens * 1e9 / nanos;
        }
    }

    private Perplexity() {}

    /**
     * @param text   the token stream, without BOS
     * @param bos    the BOS id each window starts with, or -1 for none
     * @param ctx    tokens per window, BOS included
     * @param stride text tokens between window starts, 1..ctx; at most ctx - 1 take effect when there is a BOS
     */
    public static Result run(Transformer model, Ops ops, int[] text, int bos, int ctx, int stride) {
        if (ctx < 2) throw new LongbowException("perplexity needs a context of at least 2 tokens, got " + ctx);
        if (stride < 1 || stride > ctx) throw new LongbowException("perplexity stride must be between 1 and the context (" + ctx + "), got " + stride);
        int b = bos >= 0 ? 1 : 0;
        int perWindow = ctx - b;
        int step = Math.min(stride, perWindow);
        int m = text.length;
        if (m + b < 2) throw new LongbowException("the text is " + m + " token" + (m == 1 ? "" : "s") + ": nothing to score");
        int vocab = model.config().vocabSize();
        long start = System.nanoTime();
        int chunk = Math.min(model.options().prefillChunk(), ctx);
        try (Transformer.State s = model.newState(ops, ctx, chunk)) {
            int[] sequence = new int[ctx], part = new int[chunk];
            float[][] rows = new float[chunk][vocab];
            float[] last = new float[vocab];
            double nll = 0;
            long scored = 0, forwardTokens = 0;
            int windows = 0, prevEnd = 0;
            for (int begin = 0; ; begin += step) {
                int end = Math.min(begin + perWindow, m);
                int length = b + end - begin;
                if (b == 1) sequence[0] = bos;
                System.arraycopy(text, begin, sequence, b, end - begin);
                // Text index the first scored token has: without BOS a window's first token has nothing to be predicted from.
                int firstScored = Math.max(prevEnd, begin + 1 - b);
                // A fresh sequence: the rotary table is chosen for its whole length, as one forward over it would.
                model.prepare(s, length);
                for (int pos = 0; pos < length; pos += chunk) {
                    int n = Math.min(chunk, length - pos);
                    System.arraycopy(sequence, pos, part, 0, n);
                    // Row r sits at sequence position pos + r and predicts text index begin + pos + r + 1 - b.
                    int firstTarget = begin + pos + 1 - b;
                    if (firstTarget + n - 1 < firstScored) {
                        model.forward(ops, s, part, n, pos, last);
                    } else {
                        model.forward(ops, s, part, n, pos, rows);
                        for (int r = 0; r < n; r++) {
                            int t = firstTarget + r;
                            if (t < firstScored || t >= end) continue;
                            nll += negativeLogLikelihood(rows[r], text[t]);
                            scored++;
                        }
                    }
                    forwardTokens += n;
                }
                windows++;
                prevEnd = end;
                if (end == m) break;
            }
            long nanos = System.nanoTime() - start;
            return new Result(Math.exp(nll / scored), nll, scored, windows, ctx, step, forwardTokens, nanos, s.cache().reservedBytes());
        }
    }

    /**
     * The first {@code maxTokens} tokens of {@code text} (all of it when 0), without BOS. Only as many leading lines
     * as needed are tokenized, with a margin past the limit, so a small budget over a large file stays cheap; the
     * tokens kept lie far enough before the cut that it cannot change them.
     */
    public static int[] tokens(Tokenizer tokenizer, String text, int maxTokens) {
        if (maxTokens < 0) throw new LongbowException("max tokens must be >= 0, got " + maxTokens);
        if (text.isEmpty()) throw new LongbowException("the text is empty");
        if (maxTokens == 0) return tokenizer.encode(text, false);
        int margin = 64;
        for (long chars = 8L * (maxTokens + margin); ; chars *= 2) {
            if (chars >= text.length()) {
                int[] all = tokenizer.encode(text, false);
                return all.length <= maxTokens ? all : Arrays.copyOf(all, maxTokens);
            }
            int cut = text.indexOf('\n', (int) chars);
            if (cut < 0) cut = text.length();
            int[] some = tokenizer.encode(text.substring(0, cut + (cut < text.length() ? 1 : 0)), false);
            if (some.length >= maxTokens + margin || cut == text.length()) return Arrays.copyOf(some, Math.min(maxTokens, some.length));
        }
    }

    /** -log softmax(logits)[target], in double. */
    public static double negativeLogLikelihood(float[] logits, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) max = Math.max(max, v);
        double sum = 0;
        for (float v : logits) sum += Math.exp(v - max);
        return Math.log(sum) + max - logits[target];
    }
}
