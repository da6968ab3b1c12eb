package dev.longbow.engine;

import dev.longbow.backend.KvBlockPool;
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
    /** Positions whose keys and values the cache holds, made under the current rotary table. */
    private int cached;
    private KvBlockPool pool;
    private boolean sharePrefixes, attachDue;
    private int cachedPromptTokens, preemptions;
    /** Order of submission, kept through preemption: the scheduler's tie-break and its choice of whom to preempt. */
    long arrival;
    /** The sampled token the next decode step runs, at position length - 1; -1 while prefilling or done. */
    private int pending = -1;
    private boolean done;

    ScheduledSequence(BatchScheduler.Request request, int vocabSize) {
        this.request = request;
        this.logits = new float[vocabSize];
    }

    /**
     * Allocates the sequence's state and delivers the prompt's text when echoed; prefill comes next. With a pool the
     * cache takes its blocks from it and, when {@code sharePrefixes}, starts with the longest prefix of the prompt
     * another sequence already computed.
     */
    void start(Transformer model, Ops ops, Tokenizer tokenizer, int contextLength, KvBlockPool pool, boolean sharePrefixes) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.pool = pool;
        this.sharePrefixes = pool != null && sharePrefixes && model.prefixesSharable();
        admitted = System.nanoTime();
        int[] prompt = request.prompt();
        span = model.streamingSpan();
        long wanted = (long) prompt.length + Math.max(1, request.maxTokens());
        capacity = (int) (span > 0 ? Math.min(Integer.MAX_VALUE - 1, wanted) : Math.min(contextLength, wanted));
        tokens = Arrays.copyOf(prompt, (int) Math.min(capacity + 1L, prompt.length + 1024L));
        length = prompt.length;
        sampler = new Sampler(request.sampling(), prompt.length);
        decoder = tokenizer.decoder();
        StringBuilder promptText = new StringBuilder();
        for (int t : prompt) promptText.append(decoder.next(t));
        if (request.echoPrompt() && !promptText.isEmpty()) request.sink().accept(-1, promptText.toString(), null);
        allocate(ops);
    }

    boolean started() {
        return model != null;
    }

    /** Runs again after {@link #preempt}: recomputes every token so far (from its prefix where it can), then goes on. */
    void resume(Ops ops) {
        allocate(ops);
    }

    /** A fresh cache, and prefill set to compute tokens[0, length) into it, less a prefix found already computed. */
    private void allocate(Ops ops) {
        int chunkSize = Math.min(model.options().prefillChunk(), length);
        state = pool == null ? model.newState(ops, capacity, chunkSize) : model.newState(ops, pool, capacity, chunkSize);
        if (chunk == null || chunk.length != state.chunk()) chunk = new int[state.chunk()];
        model.prepare(state, scaledLength());
        prefillTarget = length;
        prefilled = 0;
        cached = 0;
        attachDue = sharePrefixes;
    }

    /**
     * Just before the first prefill chunk (not at admission: sequences admitted together prefill one after another,
     * so a later one finds what an earlier one published), takes the longest published prefix of its tokens.
     */
    void attachPrefix() {
        if (!attachDue) return;
        attachDue = false;
        // The last token runs even when its block was found: its logits are what prefill is for (the block is copied first).
        prefilled = Math.min(length - 1, pool.attachPrefix(state.cache(), tokens, length, model.prefixSalt(state)));
        cached = prefilled;
        if (preemptions == 0) cachedPromptTokens = prefilled;
    }

    /**
     * Gives the cache back so that others can run, offering what it computed to later sequences (its own resumption
     * among them); {@link #resume} recomputes it. Tokens already delivered stay delivered.
     */
    void preempt() {
        publish();
        state.close();
        state = null;
        pending = -1;
        prefilled = 0;
        cached = 0;
        preemptions++;
    }

    /** Blocks the next step of this sequence (a prefill chunk or a decode step) takes from the pool. */
    int blocksForNextStep() {
        int to = prefilling() ? prefilled + Math.min(chunk.length, prefillTarget - prefilled) : cached + 1;
        return pool.blocksToWrite(state.cache(), cached, to);
    }

    /**
     * Blocks this sequence takes from the pool to finish its prompt (or recomputation) and then grow by one block:
     * admission leaves that much room to each running sequence, so that a newcomer is not preempted again (its
     * prefill wasted) as soon as the others reach their next block.
     */
    int blocksAhead() {
        return pool.blocksToWrite(state.cache(), cached, length + pool.blockPositions());
    }

    /** Blocks a sequence not yet running takes for its tokens so far and one more, ignoring prefixes it might find. */
    int blocksToStart(int blockPositions) {
        int n = started() ? length : request.prompt().length;
        return n / blockPositions + 1;
    }

    private void publish() {
        if (sharePrefixes && state != null) pool.publishPrefix(state.cache(), tokens, cached, model.prefixSalt(state));
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
        cached = prefilled;
        if (prefilled < prefillTarget) return;
        if (prefillNanos == 0) prefillNanos = System.nanoTime() - admitted;
        publish();
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
        cached = length;
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
            cached = 0;
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
            publish();
            result.complete(new Generation.Result(Arrays.copyOf(tokens, length), request.prompt().length, generated, reason,
                    prefillNanos == 0 ? now - admitted : prefillNanos, Math.max(0, decodeNanos), firstNanos,
                    state == null ? 0 : state.cache().scoresSkipped(), state == null ? 0 : state.cache().reservedBytes(),
                    cachedPromptTokens, preemptions));
        } catch (RuntimeException | Error e) {
            result.completeExceptionally(e);
        } finally {
            if (state != null) state.close();
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
