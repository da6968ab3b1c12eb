package dev.longbow.api;

import dev.longbow.LongbowException;
import dev.longbow.backend.Ops;
import dev.longbow.engine.BatchScheduler;
import dev.longbow.engine.Generation;
import dev.longbow.format.GgufValue;
import dev.longbow.engine.Passkey;
import dev.longbow.engine.Perplexity;
import dev.longbow.format.ModelFile;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Transformer;
import dev.longbow.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;

/**
 * A loaded model. Thread-safe: any number of threads may generate at once (each generation has its own KV cache
 * and buffers; weights are shared read-only). {@link #close()} waits for running generations, then unmaps the file.
 */
public final class Model implements AutoCloseable {
    private final ModelFile file;
    private final Transformer transformer;
    private final Tokenizer tokenizer;
    private final Ops ops;
    private final int contextLength;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;
    /** Runs generations as one batch once {@link #enableBatching} was called; null until then. */
    private volatile BatchScheduler scheduler;

    Model(ModelFile file, Transformer transformer, Tokenizer tokenizer, Ops ops, int contextLength) {
        this.file = file;
        this.transformer = transformer;
        this.tokenizer = tokenizer;
        this.ops = ops;
        this.contextLength = contextLength;
    }

    public ModelConfig config() {
        return transformer.config();
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public int contextLength() {
        return contextLength;
    }

    public String backend() {
        return ops.name();
    }

    /** The file's metadata (GGUF key/values, {@code tokenizer.chat_template} among them); empty for other formats. */
    public Map<String, GgufValue> metadata() {
        return Collections.unmodifiableMap(file.metadata());
    }

    /** Continuous batching's counters (batch shape, preemptions, KV blocks, prefix hits); null until {@link #enableBatching}. */
    public BatchScheduler.Stats batchingStats() {
        BatchScheduler s = scheduler;
        return s == null ? null : s.stats();
    }

    /**
     * From now on, {@link #generate} and {@link #stream} run through one shared scheduler that decodes up to
     * {@code maxBatch} generations together (continuous batching, see {@link BatchScheduler}): each decode step reads
     * the weights once for all of them. More concurrent calls than that wait for a place. Greedy results are the same
     * tokens. Listeners are still called on the generating caller's thread, fed from the scheduler, which may run
     * a step or two ahead: a cancel set from a listener (a stop sequence) stops the generation that much later than
     * without batching (the extra tokens are delivered and counted). Call it once, before generating.
     */
    public void enableBatching(int maxBatch) {
        enableBatching(maxBatch, 0, true);
    }

    /**
     * As {@link #enableBatching(int)}, with the KV cache of all sequences together bounded by {@code kvMemoryBytes}
     * (0: {@link BatchScheduler#defaultKvMemory}; past it, sequences are preempted and recomputed later) and
     * sequences sharing the cache of identical prompt prefixes when {@code sharePrefixes}.
     */
    public void enableBatching(int maxBatch, long kvMemoryBytes, boolean sharePrefixes) {
        lifecycle.writeLock().lock();
        try {
            if (closed) throw new IllegalStateException("model is closed");
            if (scheduler != null) throw new IllegalStateException("batching is already enabled, for " + scheduler.maxBatch() + " sequences");
            scheduler = new BatchScheduler(transformer, ops, tokenizer, contextLength, maxBatch, kvMemoryBytes, sharePrefixes);
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    public GenerateResult generate(GenerateRequest request) {
        return stream(request, (id, text, logprobs) -> { });
    }

    /**
     * Generates, handing each token and the text it completes to {@code onToken} as it is produced (on the calling
     * thread). The echoed prompt, if asked for, arrives first with token id -1.
     */
    public GenerateResult stream(GenerateRequest request, BiConsumer<Integer, String> onToken) {
        return stream(request, (id, text, logprobs) -> onToken.accept(id, text));
    }

    /** As {@link #stream(GenerateRequest, BiConsumer)}, with each token's log-probabilities when the request asks for them. */
    public GenerateResult stream(GenerateRequest request, TokenListener onToken) {
        lifecycle.readLock().lock();
        try {
            if (closed) throw new IllegalStateException("model is closed");
            int[] prompt = tokenizer.encode(request.prompt(), request.addBos(), request.parseSpecial());
            if (prompt.length == 0) throw new LongbowException("the prompt is empty and the vocabulary has no BOS token to start from; give a prompt");
            StringBuilder text = new StringBuilder();
            Generation.Sink sink = (id, piece, logprobs) -> {
                text.append(piece);
                onToken.onToken(id, piece, logprobs);
            };
            BatchScheduler batching = scheduler;
            Generation.Result r = batching == null
                    ? Generation.run(transformer, ops, tokenizer, prompt, request.sampling(), request.maxTokens(),
                            contextLength, request.echoPrompt(), request.logprobs(), sink, request.cancelled()::get)
                    : scheduled(batching, request, prompt, sink);
            return new GenerateResult(text.toString(), r.tokens(), r.promptTokens(), r.generatedTokens(), r.stopReason(),
                    r.prefillTokensPerSecond(), r.decodeTokensPerSecond(), r.firstTokenNanos() / 1e6, r.attentionFlopsSkipped(), r.kvCacheBytes(),
                    r.cachedPromptTokens());
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private record Piece(int id, String text, dev.longbow.engine.TokenLogprobs logprobs) {}

    private static final Piece END = new Piece(-1, null, null);

    /**
     * Runs the request through the scheduler and hands its tokens to {@code sink} on this thread, so that a slow
     * listener (a client reading slowly) holds up its own generation only, never the batch. The scheduler may
     * therefore run a step or two ahead of the listener: a cancel the listener sets takes effect that much later.
     */
    private static Generation.Result scheduled(BatchScheduler batching, GenerateRequest request, int[] prompt, Generation.Sink sink) {
        var pieces = new java.util.concurrent.LinkedBlockingQueue<Piece>();
        var abandoned = new java.util.concurrent.atomic.AtomicBoolean();
        var future = batching.submit(new BatchScheduler.Request(prompt, request.sampling(), request.maxTokens(), request.echoPrompt(),
                request.logprobs(), (id, text, lp) -> pieces.add(new Piece(id, text, lp)),
                () -> request.cancelled().get() || abandoned.get(), request.priority()));
        future.whenComplete((r, e) -> pieces.add(END));
        try {
            boolean interrupted = false;
            for (Piece p; ; ) {
                try {
                    p = pieces.take();
                } catch (InterruptedException e) {
                    interrupted = true;
                    continue;
                }
                if (p == END) break;
                sink.accept(p.id(), p.text(), p.logprobs());
            }
            if (interrupted) Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            abandoned.set(true); // the listener failed: as without batching, the generation ends with its exception
            throw e;
        }
        return await(future);
    }

    /** The scheduler's result for this thread: its exception rethrown as it was, not wrapped. */
    private static Generation.Result await(java.util.concurrent.CompletableFuture<Generation.Result> future) {
        try {
            return future.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error r) throw r;
            throw e;
        }
    }

    /**
     * The embedding of {@code text}: its tokens (after BOS when {@code addBos} and the vocabulary has one) run through
     * the model, the final-norm hidden state of each averaged, and the mean scaled to unit length. Mean pooling over
     * a decoder's states is a plain baseline, not a trained embedding head.
     */
    public Embedding embed(String text, boolean addBos) {
        return embed(List.of(text), EmbedOptions.DEFAULT.withAddBos(addBos), () -> false, false).getFirst();
    }

    /**
     * The embeddings of {@code texts}, in order, pooled as {@code options} says. Every text is tokenized and checked
     * before any runs: an empty one (with no BOS to stand in) or one longer than the context is a
     * {@link LongbowException} naming its index. Each text runs alone, with its own KV cache sized to it.
     */
    public List<Embedding> embed(List<String> texts, EmbedOptions options) {
        return embed(texts, options, () -> false, true);
    }

    /** As {@link #embed(List, EmbedOptions)}, checking {@code cancelled} between texts (then CancellationException). */
    List<Embedding> embed(List<String> texts, EmbedOptions options, BooleanSupplier cancelled, boolean indexed) {
        lifecycle.readLock().lock();
        try {
            if (closed) throw new IllegalStateException("model is closed");
            int[][] tokens = new int[texts.size()][];
            for (int i = 0; i < tokens.length; i++) {
                String what = indexed ? "text " + i : "the text to embed";
                if (texts.get(i) == null) throw new LongbowException(what + " is null");
                tokens[i] = tokenizer.encode(texts.get(i), options.addBos(), false);
                if (tokens[i].length == 0) throw new LongbowException(what + " is empty and the vocabulary has no BOS token to stand for it; give some text");
                if (tokens[i].length > contextLength) {
                    throw new LongbowException(what + " of " + tokens[i].length + " tokens exceeds the context length of " + contextLength + " tokens");
                }
            }
            List<Embedding> out = new ArrayList<>(tokens.length);
            for (int[] t : tokens) {
                if (cancelled.getAsBoolean()) throw new CancellationException("embedding cancelled");
                out.add(pool(t, options));
            }
            return out;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private Embedding pool(int[] tokens, EmbedOptions options) {
        int dim = transformer.config().dim();
        double[] pooled = new double[dim];
        int chunkSize = Math.min(transformer.options().prefillChunk(), tokens.length);
        try (Transformer.State state = transformer.newState(ops, tokens.length, chunkSize)) {
            transformer.prepare(state, tokens.length);
            int[] chunk = new int[chunkSize];
            float[][] hidden = new float[chunkSize][dim];
            for (int pos = 0; pos < tokens.length; pos += chunkSize) {
                int n = Math.min(chunkSize, tokens.length - pos);
                System.arraycopy(tokens, pos, chunk, 0, n);
                transformer.hiddenStates(ops, state, chunk, n, pos, hidden);
                if (options.pooling() == EmbedOptions.Pooling.MEAN) {
                    for (int t = 0; t < n; t++) for (int i = 0; i < dim; i++) pooled[i] += hidden[t][i];
                } else if (pos + n == tokens.length) {
                    for (int i = 0; i < dim; i++) pooled[i] = hidden[n - 1][i];
                }
            }
        }
        // Normalizing makes the mean's 1/n irrelevant; without it the mean needs it.
        double scale = options.pooling() == EmbedOptions.Pooling.MEAN ? tokens.length : 1;
        if (options.normalize()) {
            double norm = 0;
            for (double v : pooled) norm += v * v;
            scale = Math.sqrt(norm);
        }
        float[] vector = new float[dim];
        for (int i = 0; i < dim; i++) vector[i] = scale == 0 ? 0f : (float) (pooled[i] / scale);
        return new Embedding(vector, tokens.length);
    }

    /**
     * Speeds of one timed run: prefill of the prompt, then decode of {@code generatedTokens} greedy tokens; and the
     * fraction of dense attention's score FLOPs skipped.
     */
    public record BenchmarkResult(int promptTokens, int generatedTokens, double prefillTokensPerSecond,
                                  double decodeTokensPerSecond, double firstTokenMillis, double attentionFlopsSkipped) {}

    /**
     * Times a prefill of {@code prompt} and {@code genTokens} decode steps (greedy, never stopping at end of text),
     * after untimed warm-up runs (at least one, for at least 3 seconds) so the JIT has compiled the kernels.
     */
    public BenchmarkResult benchmark(int[] prompt, int genTokens) {
        lifecycle.readLock().lock();
        try {
            if (closed) throw new IllegalStateException("model is closed");
            Tokenizer endless = tokenizer.withoutEndOfText();
            // Warm-up until the JIT has compiled the kernels: interpreted, the Vector API is orders of magnitude slower.
            int[] warmup = java.util.Arrays.copyOf(prompt, Math.min(prompt.length, 4 * transformer.options().prefillChunk()));
            long warmUntil = System.nanoTime() + 3_000_000_000L;
            do {
                Generation.run(transformer, ops, endless, warmup, dev.longbow.engine.SamplerParams.GREEDY, Math.min(genTokens, 16),
                        contextLength, false, -1, (id, piece, logprobs) -> { }, () -> false);
            } while (System.nanoTime() < warmUntil);
            Generation.Result r = Generation.run(transformer, ops, endless, prompt, dev.longbow.engine.SamplerParams.GREEDY, genTokens,
                    contextLength, false, -1, (id, piece, logprobs) -> { }, () -> false);
            return new BenchmarkResult(r.promptTokens(), r.generatedTokens(), r.prefillTokensPerSecond(), r.decodeTokensPerSecond(),
                    r.firstTokenNanos() / 1e6, r.attentionFlopsSkipped());
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Perplexity of {@code textTokens} (no BOS: each window gets its own when the vocabulary has one) in windows of
     * this model's context length, starting every {@code stride} tokens; see {@link Perplexity}.
     */
    public Perplexity.Result perplexity(int[] textTokens, int stride) {
        lifecycle.readLock().lock();
        try {
            if (closed) throw new IllegalStateException("model is closed");
            return Perplexity.run(transformer, ops, textTokens, tokenizer.bos(), contextLength, stride);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Passkey retrieval in prompts of about this model's context length; see {@link Passkey}. */
    public Passkey.Result passkey(double[] depths, int trials, long seed) {
        lifecycle.readLock().lock();
        try {
            if (closed) throw new IllegalStateException("model is closed");
            return Passkey.run(transformer, ops, tokenizer, contextLength, depths, trials, seed);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Bytes of all weight tensors in the file. */
    public long weightBytes() {
        long sum = 0;
        for (var t : file.tensors().values()) sum += t.data().byteSize();
        return sum;
    }

    /**
     * Bytes of weights one decode step reads: every matrix once, but of an embedding table that is not also the
     * output projection only the one row looked up.
     */
    public long decodeBytesPerToken() {
        var tensors = file.tensors();
        var emb = tensors.get("token_embd.weight");
        boolean tied = !tensors.containsKey("output.weight");
        return weightBytes() - (emb == null || tied ? 0 : emb.data().byteSize() - emb.data().byteSize() / emb.rows());
    }

    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            if (scheduler != null) scheduler.close();
            ops.close();
            file.close();
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    static Model open(ModelFile file, Tokenizer tokenizer, Ops ops, int contextLength, dev.longbow.model.ContextOptions context) {
        // Models often pad their embedding past the tokenizer's last id (Qwen2: 151,936 rows for 151,665 tokens); the
        // reverse would leave ids with no embedding.
        if (tokenizer.vocabSize() > file.config().vocabSize()) {
            throw new LongbowException(file.path() + ": tokenizer has " + tokenizer.vocabSize() + " tokens but the model has " + file.config().vocabSize());
        }
        ModelConfig config = file.config();
        var scaling = context.rope().resolve(config.ropeScaling(), config.contextLength(), contextLength);
        if (scaling != config.ropeScaling()) config = config.withRopeScaling(scaling);
        return new Model(file, new Transformer(config, dev.longbow.model.ModelWeights.bind(file.config(), file.tensors(), file.path().toString()), context),
                tokenizer, ops, contextLength);
    }
}
