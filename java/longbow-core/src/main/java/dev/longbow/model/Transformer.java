package dev.longbow.model;

import dev.longbow.LongbowException;
import dev.longbow.backend.Act;
import dev.longbow.backend.Attention;
import dev.longbow.backend.KvBlockPool;
import dev.longbow.backend.KvCache;
import dev.longbow.backend.Ops;
import dev.longbow.backend.Rope;

/**
 * The Llama-family decoder, written once over {@link Ops}: embed, then per layer pre-norm attention and a SwiGLU
 * feed-forward with residuals, then the final norm and the classifier.
 */
public final class Transformer {
    private final ModelConfig config;
    private final ModelWeights weights;
    private final ContextOptions options;
    private final Attention attention;
    /** The rotary table when it does not depend on the sequence length; null when it does. */
    private final Rope fixedRope;
    private final float fixedTemperature;

    public Transformer(ModelConfig config, ModelWeights weights) {
        this(config, weights, ContextOptions.DEFAULT);
    }

    public Transformer(ModelConfig config, ModelWeights weights, ContextOptions options) {
        this.config = config;
        this.weights = weights;
        this.options = options;
        int window = options.attentionWindow() > 0 ? options.attentionWindow() : config.slidingWindow();
        this.attention = new Attention(config.heads(), config.kvHeads(), config.headDim(), window, options.attentionSinks(), 1f, options.sparse());
        if (config.ropeScaling().method().lengthDependent()) {
            fixedRope = null;
            fixedTemperature = Float.NaN;
        } else {
            RopeScaling.Table table = table(config.contextLength());
            fixedRope = rope(table);
            fixedTemperature = table.attentionTemperature();
        }
    }

    public ModelConfig config() {
        return config;
    }

    public ContextOptions options() {
        return options;
    }

    /**
     * The farthest any query looks back when sinks and a window bound the attention (sinks + window), else 0. Such a
     * sequence can run past the context: its cache keeps only the sinks and the window, and every distance RoPE sees
     * stays below this span (see {@link dev.longbow.backend.Attention#streaming()}).
     */
    public int streamingSpan() {
        return attention.streaming() ? attention.sinks() + attention.window() : 0;
    }

    /** Per-sequence working memory: activation buffers for up to {@code chunk} tokens at once, and the KV cache. */
    public static final class State implements AutoCloseable {
        final int chunk;
        final Act x, xb, q, k, v, attn, hb, hb2, logits;
        /** Logits of every row of a chunk; allocated on first use, since decoding needs only the last row's. */
        Act rowLogits;
        final KvCache cache;
        /** The rotary table and attention the cached keys were made with, and the length they were chosen for. */
        Rope rope;
        Attention attention;
        int scaledLength;

        public State(Ops ops, ModelConfig c, int contextLength, int chunk) {
            this(ops, c, contextLength, chunk, ContextOptions.DEFAULT.kvType());
        }

        public State(Ops ops, ModelConfig c, int contextLength, int chunk, dev.longbow.backend.KvType kvType) {
            this(ops, c, chunk, ops.allocateKvCache(c.layers(), contextLength, c.kvHeads(), c.headDim(), kvType));
        }

        /** Buffers for {@code chunk} rows over {@code cache}; null for a batch's shared activations, which own no cache. */
        private State(Ops ops, ModelConfig c, int chunk, KvCache cache) {
            this.chunk = chunk;
            x = ops.allocate(chunk, c.dim());
            xb = ops.allocate(chunk, c.dim());
            q = ops.allocate(chunk, c.qDim());
            k = ops.allocate(chunk, c.kvDim());
            v = ops.allocate(chunk, c.kvDim());
            attn = ops.allocate(chunk, c.qDim());
            hb = ops.allocate(chunk, c.hiddenDim());
            hb2 = ops.allocate(chunk, c.hiddenDim());
            logits = ops.allocate(1, c.vocabSize());
            this.cache = cache;
        }

        public int chunk() {
            return chunk;
        }

        public int contextLength() {
            return cache.contextLength();
        }

        public KvCache cache() {
            return cache;
        }

        @Override
        public void close() {
            if (cache != null) cache.close();
        }
    }

    /**
     * Working memory for a batched decode step ({@link #forwardBatch}): activations with one row per sequence, shared
     * by all of them, and one-row views of the rows each sequence's attention reads and writes. The sequences' caches
     * and positions stay in their own {@link State}s.
     */
    public static final class BatchState {
        final State rows;
        final Act logits;
        final Act[] q, k, v, attn;
        /** The sequences and positions of the step in progress, one per row. */
        State[] seqs;
        int[] positions;

        public BatchState(Ops ops, ModelConfig c, int maxBatch) {
            if (maxBatch < 1) throw new IllegalArgumentException("batch of " + maxBatch + " sequences");
            rows = new State(ops, c, maxBatch, null);
            logits = ops.allocate(maxBatch, c.vocabSize());
            q = views(ops, rows.q, maxBatch);
            k = views(ops, rows.k, maxBatch);
            v = views(ops, rows.v, maxBatch);
            attn = views(ops, rows.attn, maxBatch);
        }

        public int maxBatch() {
            return rows.chunk;
        }

        private static Act[] views(Ops ops, Act x, int n) {
            Act[] views = new Act[n];
            for (int i = 0; i < n; i++) views[i] = ops.rowView(x, i);
            return views;
        }
    }

    /** Shared activations for batched decode steps of up to {@code maxBatch} sequences. */
    public BatchState newBatchState(Ops ops, int maxBatch) {
        return new BatchState(ops, config, maxBatch);
    }

    /** Working memory for one sequence of up to {@code contextLength} tokens, run {@code chunk} tokens at a time. */
    public State newState(Ops ops, int contextLength, int chunk) {
        return new State(ops, config, contextLength, chunk, options.kvType());
    }

    /** Working memory for one sequence whose cache takes its blocks from {@code pool} (see {@link #newKvPool}). */
    public State newState(Ops ops, KvBlockPool pool, int contextLength, int chunk) {
        return new State(ops, config, chunk, pool.newCache(contextLength));
    }

    /** A pool of KV blocks for many sequences of this model, holding at most {@code budgetBytes}. */
    public KvBlockPool newKvPool(Ops ops, long budgetBytes) {
        return ops.allocateKvPool(config.layers(), config.kvHeads(), config.headDim(), options.kvType(), budgetBytes);
    }

    /** Bytes the cache takes per position of a sequence. */
    public long kvBytesPerPosition() {
        return options.kvType().bytesPerPosition(config.layers(), config.kvHeads(), config.headDim());
    }

    /**
     * Whether sequences may share cached prompt prefixes: not under LSH sparse attention, whose index of a cache's
     * keys is filled as they are attended, so keys a sequence did not compute itself would be missing from it.
     */
    public boolean prefixesSharable() {
        return options.sparse().pattern() != dev.longbow.backend.SparsePattern.LSH;
    }

    /**
     * What decides {@code s}'s cached keys and values besides its tokens: the rotary table it was prepared with,
     * named by the length bucket it was chosen for (0 when the table never depends on the length). Two sequences
     * with the same tokens and the same salt have the same cache.
     */
    public long prefixSalt(State s) {
        return fixedRope != null ? 0 : s.scaledLength;
    }

    /**
     * Chooses the rotary table and attention temperature for a sequence of {@code length} tokens. Length-dependent
     * scaling (dynamic NTK, elastic, LongRoPE) is evaluated at the top of the length's bucket (the trained context,
     * then steps of sqrt(2)), so a table serves many lengths. Returns true when the table changed while positions
     * were cached: their keys, and every later layer's input, were computed with the old one, so the caller must
     * run the sequence again from position 0. Incremental decode then equals a fresh forward over the same tokens.
     */
    public boolean prepare(State s, int length) {
        if (fixedRope != null) {
            boolean first = s.rope == null;
            if (first) {
                s.rope = fixedRope;
                s.attention = attention.withTemperature(Float.isNaN(options.attentionTemperature()) ? fixedTemperature : options.attentionTemperature());
            }
            return false;
        }
        int bucket = scaleLength(length, config.ropeScaling().originalContext());
        if (s.rope != null && bucket == s.scaledLength) return false;
        RopeScaling.Table table = table(bucket);
        Rope rope = rope(table);
        float temperature = Float.isNaN(options.attentionTemperature()) ? table.attentionTemperature() : options.attentionTemperature();
        boolean changed = s.rope != null && (!java.util.Arrays.equals(rope.inverseFrequencies(), s.rope.inverseFrequencies())
                || rope.attentionFactor() != s.rope.attentionFactor() || temperature != s.attention.temperature());
        s.rope = rope;
        s.attention = attention.withTemperature(temperature);
        s.scaledLength = bucket;
        return changed;
    }

    /** The trained context for lengths within it, else the next of trained * sqrt(2)^k at or above length. */
    static int scaleLength(int length, int trained) {
        if (length <= trained) return trained;
        double steps = Math.ceil(2 * Math.log((double) length / trained) / Math.log(2) - 1e-9);
        return (int) Math.max(length, Math.round(trained * Math.pow(2, steps / 2)));
    }

    private RopeScaling.Table table(int length) {
        return config.ropeScaling().table(config.headDim(), config.ropeTheta(), length);
    }

    private Rope rope(RopeScaling.Table table) {
        float[] invFreq = table.inverseFrequencies();
        if (weights.ropeFreqs() != null) {
            // llama.cpp stores Llama 3.1's frequency scaling as per-pair divisors.
            float[] divisors = weights.ropeFreqs().toFloatArray();
            for (int i = 0; i < invFreq.length; i++) invFreq[i] /= divisors[i];
        }
        // YaRN's and LongRoPE's attention factor scales cos and sin, as Hugging Face applies it.
        return new Rope(invFreq, config.headDim(), config.rotaryLayout(), table.attentionFactor());
    }

    /**
     * Runs {@code n} tokens at positions startPos.. through the model, extending the KV cache, and writes the logits
     * of the last one into {@code logitsOut}.
     */
    public void forward(Ops ops, State s, int[] tokens, int n, int startPos, float[] logitsOut) {
        normalizedHidden(ops, s, tokens, n, startPos);
        // Only the last token's logits are needed to pick the next token.
        ops.matmul(s.logits, ops.rowView(s.xb, n - 1), weights.output(), null, 1);
        ops.read(s.logits, 0, logitsOut);
    }

    /**
     * Runs {@code n} tokens at positions startPos.. as {@link #forward} does, but instead of logits writes each
     * token's final hidden state (after the output norm, before the classifier) into {@code hiddenOut[t]}: what an
     * embedding pools.
     */
    public void hiddenStates(Ops ops, State s, int[] tokens, int n, int startPos, float[][] hiddenOut) {
        normalizedHidden(ops, s, tokens, n, startPos);
        for (int t = 0; t < n; t++) ops.read(s.xb, t, hiddenOut[t]);
    }

    /**
     * Runs {@code n} tokens as {@link #forward(Ops, State, int[], int, int, float[])} does, but writes the logits of
     * every one: row i (the prediction for the token after tokens[i]) into {@code logitsPerRow[i]}. For scoring text
     * (perplexity, teacher forcing), where each position's prediction counts.
     */
    public void forward(Ops ops, State s, int[] tokens, int n, int startPos, float[][] logitsPerRow) {
        if (logitsPerRow.length < n) throw new IllegalArgumentException(logitsPerRow.length + " logits rows for a chunk of " + n + " tokens");
        normalizedHidden(ops, s, tokens, n, startPos);
        if (s.rowLogits == null) s.rowLogits = ops.allocate(s.chunk, config.vocabSize());
        ops.matmul(s.rowLogits, s.xb, weights.output(), null, n);
        for (int i = 0; i < n; i++) ops.read(s.rowLogits, i, logitsPerRow[i]);
    }

    /**
     * One decode step of {@code b} sequences at once: {@code tokens[i]} runs at position {@code positions[i]} of
     * {@code seqs[i]} (each sequence's own cache and rotary table), and its logits go to {@code logitsOut[i]}. Every
     * weight matrix is read once for all b rows; only RoPE, the cache write and attention run per row. Each row's
     * logits equal that sequence's own {@link #forward(Ops, State, int[], int, int, float[])} within rounding. The
     * sequences must be distinct and prepared ({@link #prepare}) for their lengths.
     */
    public void forwardBatch(Ops ops, BatchState batch, State[] seqs, int[] tokens, int[] positions, int b, float[][] logitsOut) {
        if (b < 1 || b > batch.maxBatch()) throw new IllegalArgumentException("batch of " + b + " sequences, capacity " + batch.maxBatch());
        for (int i = 0; i < b; i++) {
            State s = seqs[i];
            check(s, tokens, i, 1, positions[i]);
            if (s.rope == null) prepare(s, positions[i] + 1);
            if (s.attention.rope() != s.rope) s.attention = s.attention.withRope(s.rope);
        }
        State x = batch.rows;
        ops.embed(x.x, weights.tokenEmbedding(), tokens, b);
        batch.seqs = seqs;
        batch.positions = positions;
        try {
            layers(ops, x, b, 0, batch);
        } finally {
            batch.seqs = null;
            batch.positions = null;
        }
        for (int i = 0; i < b; i++) evictOutsideWindow(seqs[i], positions[i] + 1);
        ops.rmsnorm(x.xb, x.x, weights.outputNorm(), config.normEps(), b);
        ops.matmul(batch.logits, x.xb, weights.output(), null, b);
        for (int i = 0; i < b; i++) ops.read(batch.logits, i, logitsOut[i]);
    }

    /** The decoder stack and the output norm: leaves norm(x[t]) of every token in s.xb. */
    private void normalizedHidden(Ops ops, State s, int[] tokens, int n, int startPos) {
        if (n < 1 || n > s.chunk) throw new IllegalArgumentException("chunk of " + n + " tokens, capacity " + s.chunk);
        check(s, tokens, 0, n, startPos);
        if (s.rope == null) prepare(s, startPos + n);
        // The attention re-rotates sink keys with the table the keys were made with; a new record only when it changes.
        if (s.attention.rope() != s.rope) s.attention = s.attention.withRope(s.rope);
        ops.embed(s.x, weights.tokenEmbedding(), tokens, n);
        layers(ops, s, n, startPos, null);
        evictOutsideWindow(s, startPos + n);
        ops.rmsnorm(s.xb, s.x, weights.outputNorm(), config.normEps(), n);
    }

    /** Rejects tokens[from, from + n) at positions startPos.. of s when they do not fit its context or the vocabulary. */
    private void check(State s, int[] tokens, int from, int n, int startPos) {
        if (startPos + n > s.contextLength()) {
            throw new LongbowException("sequence of " + (startPos + n) + " tokens exceeds the context length " + s.contextLength());
        }
        for (int i = from; i < from + n; i++) {
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) throw new LongbowException("token id " + tokens[i] + " is outside the vocabulary");
        }
    }

    /** With a window, positions older than it (sinks aside) are invisible to the next query and every later one. */
    private static void evictOutsideWindow(State s, int length) {
        if (s.attention.window() > 0) s.cache.evict(s.attention.sinks(), length - s.attention.window() + 1);
    }

    /**
     * The decoder layers over the n rows in {@code a}'s buffers (x in, x out). The rows are either n consecutive
     * tokens of the sequence {@code a} from startPos ({@code batch} null) or one token of each of the batch's
     * sequences ({@link #attend} places each row in its own cache); everything but attention treats rows alike.
     */
    private void layers(Ops ops, State a, int n, int startPos, BatchState batch) {
        for (int l = 0; l < config.layers(); l++) {
            ModelWeights.Layer w = weights.layers().get(l);

            // Attention block: x += Wo · attention(rope(Wq·norm(x)), rope(Wk·norm(x)), Wv·norm(x))
            ops.rmsnorm(a.xb, a.x, w.attnNorm(), config.normEps(), n);
            ops.matmuls(a.xb, n, a.q, w.wq(), w.bq(), a.k, w.wk(), w.bk(), a.v, w.wv(), w.bv());
            if (batch == null) attend(ops, a, l, a.q, a.k, a.v, a.attn, startPos, n);
            else for (int i = 0; i < n; i++) attend(ops, batch.seqs[i], l, batch.q[i], batch.k[i], batch.v[i], batch.attn[i], batch.positions[i], 1);
            ops.matmul(a.xb, a.attn, w.wo(), null, n);
            ops.add(a.x, a.xb, n);

            // Feed-forward block: x += W2 · (silu(W1·norm(x)) * W3·norm(x))
            ops.rmsnorm(a.xb, a.x, w.ffnNorm(), config.normEps(), n);
            ops.matmuls(a.xb, n, a.hb, w.wGate(), a.hb2, w.wUp());
            ops.swiglu(a.hb, a.hb2, n);
            ops.matmul(a.xb, a.hb, w.wDown(), null, n);
            ops.add(a.x, a.xb, n);
        }
    }

    /** Rotates n rows of q and k for positions startPos.., stores k and v in s's cache, and attends over it into out. */
    private void attend(Ops ops, State s, int layer, Act q, Act k, Act v, Act out, int startPos, int n) {
        ops.rope(q, config.heads(), s.rope, startPos, n);
        ops.rope(k, config.kvHeads(), s.rope, startPos, n);
        ops.storeKv(s.cache, layer, k, v, startPos, n);
        ops.attention(out, q, s.cache, layer, s.attention, startPos, n);
    }
}
