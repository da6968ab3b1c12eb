package dev.longbow.model;

import dev.longbow.LongbowException;
import dev.longbow.backend.Act;
import dev.longbow.backend.Attention;
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
    private final Rope rope;
    private final Attention attention;

    public Transformer(ModelConfig config, ModelWeights weights) {
        this.config = config;
        this.weights = weights;
        // Length-dependent methods are refused here. YaRN's and LongRoPE's attention factor scales cos and sin, as
        // Hugging Face applies it.
        RopeScaling.Table table = config.ropeScaling().generationTable(config.headDim(), config.ropeTheta(), config.contextLength());
        float[] invFreq = table.inverseFrequencies();
        if (weights.ropeFreqs() != null) {
            // llama.cpp stores Llama 3.1's frequency scaling as per-pair divisors.
            float[] divisors = weights.ropeFreqs().toFloatArray();
            for (int i = 0; i < invFreq.length; i++) invFreq[i] /= divisors[i];
        }
        this.rope = new Rope(invFreq, config.headDim(), config.rotaryLayout(), table.attentionFactor());
        this.attention = new Attention(config.heads(), config.kvHeads(), config.headDim(), config.slidingWindow());
    }

    public ModelConfig config() {
        return config;
    }

    /** Per-sequence working memory: activation buffers for up to {@code chunk} tokens at once, and the KV cache. */
    public static final class State implements AutoCloseable {
        final int chunk;
        final Act x, xb, q, k, v, attn, hb, hb2, logits;
        final KvCache cache;

        public State(Ops ops, ModelConfig c, int contextLength, int chunk) {
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
            cache = ops.allocateKvCache(c.layers(), contextLength, c.kvDim());
        }

        public int chunk() {
            return chunk;
        }

        public int contextLength() {
            return cache.contextLength();
        }

        @Override
        public void close() {
            cache.close();
        }
    }

    /**
     * Runs {@code n} tokens at positions startPos.. through the model, extending the KV cache, and writes the logits
     * of the last one into {@code logitsOut}.
     */
    public void forward(Ops ops, State s, int[] tokens, int n, int startPos, float[] logitsOut) {
        if (n < 1 || n > s.chunk) throw new IllegalArgumentException("chunk of " + n + " tokens, capacity " + s.chunk);
        if (startPos + n > s.contextLength()) {
            throw new LongbowException("sequence of " + (startPos + n) + " tokens exceeds the context length " + s.contextLength());
        }
        for (int i = 0; i < n; i++) {
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) throw new LongbowException("token id " + tokens[i] + " is outside the vocabulary");
        }
        ops.embed(s.x, weights.tokenEmbedding(), tokens, n);

        for (int l = 0; l < config.layers(); l++) {
            ModelWeights.Layer w = weights.layers().get(l);

            // Attention block: x += Wo · attention(rope(Wq·norm(x)), rope(Wk·norm(x)), Wv·norm(x))
            ops.rmsnorm(s.xb, s.x, w.attnNorm(), config.normEps(), n);
            ops.matmul(s.q, s.xb, w.wq(), w.bq(), n);
            ops.matmul(s.k, s.xb, w.wk(), w.bk(), n);
            ops.matmul(s.v, s.xb, w.wv(), w.bv(), n);
            ops.rope(s.q, config.heads(), rope, startPos, n);
            ops.rope(s.k, config.kvHeads(), rope, startPos, n);
            ops.storeKv(s.cache, l, s.k, s.v, startPos, n);
            ops.attention(s.attn, s.q, s.cache, l, attention, startPos, n);
            ops.matmul(s.xb, s.attn, w.wo(), null, n);
            ops.add(s.x, s.xb, n);

            // Feed-forward block: x += W2 · (silu(W1·norm(x)) * W3·norm(x))
            ops.rmsnorm(s.xb, s.x, w.ffnNorm(), config.normEps(), n);
            ops.matmul(s.hb, s.xb, w.wGate(), null, n);
            ops.matmul(s.hb2, s.xb, w.wUp(), null, n);
            ops.swiglu(s.hb, s.hb2, n);
            ops.matmul(s.xb, s.hb, w.wDown(), null, n);
            ops.add(s.x, s.xb, n);
        }

        // Only the last token's logits are needed to pick the next token.
        ops.rmsnorm(s.xb, s.x, weights.outputNorm(), config.normEps(), n);
        ops.matmul(s.logits, ops.rowView(s.xb, n - 1), weights.output(), null, 1);
        ops.read(s.logits, 0, logitsOut);
    }
}
