package dev.longbow.engine;

import dev.longbow.LongbowException;
import dev.longbow.backend.Ops;
import dev.longbow.model.Transformer;
import dev.longbow.tokenizer.TokenDecoder;
import dev.longbow.tokenizer.Tokenizer;

import java.util.function.BooleanSupplier;

/**
 * Runs one sequence: prefill the prompt in chunks, then sample and decode one token at a time until end of text,
 * the token budget, the context, or cancellation. The per-token path allocates nothing but the emitted text.
 * <p>
 * With attention sinks and a window ({@link Transformer#streamingSpan()}) the sequence is not limited by the context:
 * the cache holds only the sinks and the window, the prompt may be longer than the context, and generation runs
 * until end of text or the token budget (positions are ints: at most 2^31 - 1); {@code contextLength} then limits
 * nothing (it still sets what rope scaling derives from --ctx when loading). The result still lists every token
 * (4 bytes each, beside the text the caller receives); the array holding them grows as they come, never sized up
 * front to the budget.
 */
public final class Generation {
    /**
     * Receives each new token with the text it completes (possibly empty while a character is split), and its
     * log-probabilities when they were asked for (null otherwise, and for the echoed prompt and the final flush, id -1).
     */
    public interface Sink {
        void accept(int token, String text, TokenLogprobs logprobs);
    }

    /**
     * {@code attentionFlopsSkipped}: the fraction of dense causal attention's score FLOPs that were not computed;
     * {@code kvCacheBytes}: the memory the KV cache held at the end, the most it held at any time.
     */
    public record Result(int[] tokens, int promptTokens, int generatedTokens, StopReason stopReason,
                         long prefillNanos, long decodeNanos, long firstTokenNanos, double attentionFlopsSkipped, long kvCacheBytes) {
        public double prefillTokensPerSecond() {
            return prefillNanos == 0 ? 0 : promptTokens * 1e9 / prefillNanos;
        }

        /** Tokens after the first, over the time they took (the first token's time is prefill). */
        public double decodeTokensPerSecond() {
            return decodeNanos == 0 || generatedTokens < 2 ? 0 : (generatedTokens - 1) * 1e9 / decodeNanos;
        }
    }

    private Generation() {}

    /**
     * Generates after {@code prompt}. {@code topLogprobs} below 0 skips log-probabilities altogether (the default path
     * computes none); 0 or more reports each token's and that many alternatives'.
     */
    public static Result run(Transformer model, Ops ops, Tokenizer tokenizer, int[] prompt, SamplerParams sampling,
                             int maxTokens, int contextLength, boolean echoPrompt, int topLogprobs, Sink sink, BooleanSupplier cancelled) {
        if (prompt.length == 0) throw new LongbowException("empty prompt: nothing to condition on (enable BOS or give text)");
        int span = model.streamingSpan();
        boolean streaming = span > 0;
        if (!streaming && prompt.length > contextLength) {
            throw new LongbowException("prompt of " + prompt.length + " tokens exceeds the context length of " + contextLength + " tokens");
        }
        if (maxTokens < 0) throw new LongbowException("max tokens must be >= 0, got " + maxTokens);
        long start = System.nanoTime(), prefillNanos, firstNanos = 0;
        // The cache accepts this request's positions only, and reserves memory as they are written.
        long wanted = (long) prompt.length + Math.max(1, maxTokens);
        int capacity = (int) (streaming ? Math.min(Integer.MAX_VALUE - 1, wanted) : Math.min(contextLength, wanted));
        try (Transformer.State state = model.newState(ops, capacity, Math.min(model.options().prefillChunk(), prompt.length))) {
            int[] tokens = new int[(int) Math.min(capacity + 1L, prompt.length + 1024L)];
            System.arraycopy(prompt, 0, tokens, 0, prompt.length);
            int length = prompt.length;
            float[] logits = new float[model.config().vocabSize()];
            Sampler sampler = new Sampler(sampling);
            TokenDecoder decoder = tokenizer.decoder();
            StopReason reason = StopReason.MAX_TOKENS;
            // The decoder sees the prompt even when it is not echoed: the first generated piece depends on what preceded it.
            StringBuilder promptText = new StringBuilder();
            for (int t : prompt) promptText.append(decoder.next(t));
            if (echoPrompt && !promptText.isEmpty()) sink.accept(-1, promptText.toString(), null);
            int[] chunk = new int[state.chunk()];
            // Streaming, no distance exceeds the span, so the rotary table is chosen for it and stops changing there
            // (a change re-runs the sequence from position 0, which needs every token).
            model.prepare(state, streaming ? Math.min(prompt.length, span) : prompt.length);
            if (!prefill(model, ops, state, tokens, prompt.length, chunk, logits, cancelled)) {
                return new Result(java.util.Arrays.copyOf(tokens, length), prompt.length, 0, StopReason.CANCELLED, System.nanoTime() - start, 0, 0,
                        state.cache().scoresSkipped(), state.cache().reservedBytes());
            }
            prefillNanos = System.nanoTime() - start;
            int generated = 0;
            int[] one = new int[1];
            while (generated < maxTokens) {
                if (cancelled.getAsBoolean()) {
                    reason = StopReason.CANCELLED;
                    break;
                }
                int next = sampler.sample(logits, tokens, length);
                if (tokenizer.isEndOfText(next)) {
                    reason = StopReason.END_OF_TEXT;
                    break;
                }
                if (length == tokens.length) tokens = java.util.Arrays.copyOf(tokens, (int) Math.min(capacity + 1L, 2L * length));
                tokens[length++] = next;
                generated++;
                if (generated == 1) firstNanos = System.nanoTime() - start;
                // From the logits the sampler saw, which the next forward overwrites.
                TokenLogprobs lp = topLogprobs >= 0 ? TokenLogprobs.of(logits, next, topLogprobs) : null;
                sink.accept(next, decoder.next(next), lp);
                if (length > capacity) { // the new token has no position left to be run at
                    reason = StopReason.CONTEXT_FULL;
                    break;
                }
                if (generated == maxTokens) break;
                if (model.prepare(state, streaming ? Math.min(length, span) : length)) {
                    // The rotary scale grew with the sequence: every cached key was made with the old one.
                    if (!prefill(model, ops, state, tokens, length, chunk, logits, cancelled)) {
                        reason = StopReason.CANCELLED;
                        break;
                    }
                } else {
                    one[0] = next;
                    model.forward(ops, state, one, 1, length - 1, logits);
                }
            }
            String rest = decoder.flush();
            if (!rest.isEmpty()) sink.accept(-1, rest, null);
            long decodeNanos = generated > 1 ? System.nanoTime() - start - firstNanos : 0; // time after the first token
            return new Result(java.util.Arrays.copyOf(tokens, length), prompt.length, generated, reason, prefillNanos, Math.max(0, decodeNanos), firstNanos,
                    state.cache().scoresSkipped(), state.cache().reservedBytes());
        }
    }

    /** Runs tokens[0, length) through the model from position 0, chunk by chunk; false if cancelled. */
    private static boolean prefill(Transformer model, Ops ops, Transformer.State state, int[] tokens, int length, int[] chunk,
                                   float[] logits, BooleanSupplier cancelled) {
        for (int pos = 0; pos < length; pos += chunk.length) {
            if (cancelled.getAsBoolean()) return false;
            int n = Math.min(chunk.length, length - pos);
            System.arraycopy(tokens, pos, chunk, 0, n);
            model.forward(ops, state, chunk, n, pos, logits);
        }
        return true;
    }
}
