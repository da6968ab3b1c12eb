package dev.longbow.engine;

import dev.longbow.LongbowException;
import dev.longbow.backend.Ops;
import dev.longbow.model.Transformer;
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
     * {@code kvCacheBytes}: the memory the KV cache held at the end, the most it held at any time (in a scheduler's
     * shared pool, the blocks it held); {@code cachedPromptTokens}: prompt positions found already computed by an
     * earlier sequence (prefix sharing); {@code preemptions}: times the scheduler took its cache away to make room.
     */
    public record Result(int[] tokens, int promptTokens, int generatedTokens, StopReason stopReason,
                         long prefillNanos, long decodeNanos, long firstTokenNanos, double attentionFlopsSkipped, long kvCacheBytes,
                         int cachedPromptTokens, int preemptions) {
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
     * computes none); 0 or more reports each token's and that many alternatives'. The steps and stop rules are
     * {@link ScheduledSequence}'s, the same a {@link BatchScheduler} runs, driven here one at a time on this thread.
     */
    public static Result run(Transformer model, Ops ops, Tokenizer tokenizer, int[] prompt, SamplerParams sampling,
                             int maxTokens, int contextLength, boolean echoPrompt, int topLogprobs, Sink sink, BooleanSupplier cancelled) {
        BatchScheduler.Request request = new BatchScheduler.Request(prompt, sampling, maxTokens, echoPrompt, topLogprobs, sink, cancelled);
        LongbowException invalid = invalid(request, model, contextLength);
        if (invalid != null) throw invalid;
        ScheduledSequence sequence = new ScheduledSequence(request, model.config().vocabSize());
        try {
            sequence.start(model, ops, tokenizer, contextLength, null, false);
            while (!sequence.done()) {
                if (cancelled.getAsBoolean()) sequence.finish(StopReason.CANCELLED);
                else if (sequence.prefilling()) sequence.prefillChunk(ops);
                else sequence.decodeStep(ops);
            }
        } catch (RuntimeException | Error e) {
            sequence.fail(e);
            throw e;
        }
        return sequence.result.join();
    }

    /** Why a request cannot run (checked before anything is allocated), or null. */
    static LongbowException invalid(BatchScheduler.Request r, Transformer model, int contextLength) {
        int[] prompt = r.prompt();
        if (prompt.length == 0) return new LongbowException("empty prompt: nothing to condition on (enable BOS or give text)");
        if (model.streamingSpan() == 0 && prompt.length > contextLength) {
            return new LongbowException("prompt of " + prompt.length + " tokens exceeds the context length of " + contextLength + " tokens");
        }
        if (r.maxTokens() < 0) return new LongbowException("max tokens must be >= 0, got " + r.maxTokens());
        for (int t : prompt) {
            if (t < 0 || t >= model.config().vocabSize()) return new LongbowException("token id " + t + " is outside the vocabulary");
        }
        return null;
    }
}
