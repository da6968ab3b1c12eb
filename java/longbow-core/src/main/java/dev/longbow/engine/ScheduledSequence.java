package dev.longbow.engine;

import dev.longbow.backend.Ops;
import dev.longbow.model.Transformer;
import dev.longbow.tokenizer.TokenDecoder;
import dev.longbow.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * One request's sequence inside a {@link BatchScheduler}: its cache, tokens, sampler and text decoder, and where it
 * is. It runs {@link Generation}'s steps one at a time, as the scheduler calls them: prefill chunks, then after each
 * batched decode step {@link #afterLogits} samples, delivers and decides whether to go on, with the same stop rules
 * (end of text, token budget, context, cancellation) and the same re-prefill when a length-dependent rotary table
 * changes. Used by one thread at a time: the scheduler's, or the caller's in {@link Generation#run}.
 */
final class ScheduledSequence {
    final BatchScheduler.Request request;
    final CompletableFuture<Generation.Result> result = new CompletableFuture<>();
    private final long submitted = System.nanoTime();
    private long admitted, prefillNanos, firstNanos;

    private Transformer model;
    private Transformer.State state;
    private int[] tokens, chunk;
    private final int[] one = new int[1];
    private int length, capacity, span, generated;
    private Sampler sampler;
    private Tokenizer tokenizer;
    private TokenDecoder decoder;
    final float[] logits;
    /** Prefill progress: tokens[0, prefilled) are in the cache, tokens[0, prefillTarget) must be. */
    private int prefilled, prefillTarget;
    /** The sampled token the next decode step runs, at position length - 1; -1 while prefilling or done. */
    private int pending = -1;
    private boolean done;

    ScheduledSequence(BatchScheduler.Request request, int vocabSize) {
        this.request = request;
        this.logits = new float[vocabSize];
    }

    /** Allocates the sequence's state and delivers the prompt's text when echoed; prefill comes next. */
    void start(Transformer model, Ops ops, Tokenizer tokenizer, int contextLength) {
        this.model = model;
        this.tokenizer = tokenizer;
        admitted = System.nanoTime();
        int[] prompt = request.prompt();
        span = model.streamingSpan();
        long wanted = (long) prompt.length + Math.max(1, request.maxTokens());
        capacity = (int) (span > 0 ? Math.min(Integer.MAX_VALUE - 1, wanted) : Math.min(contextLength, wanted));
        state = model.newState(ops, capacity, Math.min(model.options().prefillChunk(), prompt.length));
        tokens = Arrays.copyOf(prompt, (int) Math.min(capacity + 1L, prompt.length + 1024L));
        length = prompt.length;
        chunk = new int[state.chunk()];
        sampler = new Sampler(request.sampling());
        decoder = tokenizer.decoder();
        StringBuilder promptText = new StringBuilder();
        for (int t : prompt) promptText.append(decoder.next(t));
        if (request.echoPrompt() && !promptText.isEmpty()) request.sink().accept(-1, promptText.toString(), null);
        model.prepare(state, scaledLength());
        prefillTarget = length;
    }

    boolean done() {
        return done;
    }

    boolean prefilling() {
        return !done && prefilled < prefillTarget;
    }

    boolean decoding() {
        return !done && pending >= 0;
    }

    Transformer.State state() {
        return state;
    }

    int pendingToken() {
        return pending;
    }

    int pendingPosition() {
        return length - 1;
    }

    /** Runs the next prefill chunk; when it was the last, samples the first token (or the next, after a re-prefill). */
    void prefillChunk(Ops ops) {
        int n = Math.min(chunk.length, prefillTarget - prefilled);
        System.arraycopy(tokens, prefilled, chunk, 0, n);
        model.forward(ops, state, chunk, n, prefilled, logits);
        prefilled += n;
        if (prefilled < prefillTarget) return;
        if (prefillNanos == 0) prefillNanos = System.nanoTime() - admitted;
        afterLogits();
    }

    /** Runs the pending token alone (the unbatched decode step), then samples the next. */
    void decodeStep(Ops ops) {
        one[0] = pending;
        model.forward(ops, state, one, 1, length - 1, logits);
        afterLogits();
    }

    /** With fresh logits for the last token: samples, delivers, and either stops or queues the next decode step. */
    void afterLogits() {
        pending = -1;
        if (generated >= request.maxTokens()) {
            finish(StopReason.MAX_TOKENS);
            return;
        }
        int next = sampler.sample(logits, tokens, length);
        if (tokenizer.isEndOfText(next)) {
            finish(StopReason.END_OF_TEXT);
            return;
        }
        if (length == tokens.length) tokens = Arrays.copyOf(tokens, (int) Math.min(capacity + 1L, 2L * length));
        tokens[length++] = next;
        generated++;
        if (generated == 1) firstNanos = System.nanoTime() - submitted;
        TokenLogprobs lp = request.topLogprobs() >= 0 ? TokenLogprobs.of(logits, next, request.topLogprobs()) : null;
        request.sink().accept(next, decoder.next(next), lp);
        if (length > capacity) {
            finish(StopReason.CONTEXT_FULL);
        } else if (generated == request.maxTokens()) {
            finish(StopReason.MAX_TOKENS);
        } else if (model.prepare(state, scaledLength())) {
            // The rotary scale grew with the sequence: every cached key was made with the old one.
            prefilled = 0;
            prefillTarget = length;
        } else {
            pending = next;
        }
    }

    /** The length the rotary table is chosen for: streaming, no distance exceeds the span (see Generation). */
    private int scaledLength() {
        return span > 0 ? Math.min(length, span) : length;
    }

    /** Delivers the text held back and completes the result; frees the cache. */
    void finish(StopReason reason) {
        if (done) return;
        done = true;
        try {
            String rest = decoder.flush();
            if (!rest.isEmpty()) request.sink().accept(-1, rest, null);
            long now = System.nanoTime();
            long decodeNanos = generated > 1 ? now - submitted - firstNanos : 0;
            result.complete(new Generation.Result(Arrays.copyOf(tokens, length), request.prompt().length, generated, reason,
                    prefillNanos == 0 ? now - admitted : prefillNanos, Math.max(0, decodeNanos), firstNanos,
                    state.cache().scoresSkipped(), state.cache().reservedBytes()));
        } catch (RuntimeException | Error e) {
            result.completeExceptionally(e);
        } finally {
            state.close();
        }
    }

    /** Ends the sequence with an error (its own problem or the scheduler's); frees the cache. */
    void fail(Throwable e) {
        if (done) return;
        done = true;
        if (state != null) state.close();
        result.completeExceptionally(e);
    }
}
