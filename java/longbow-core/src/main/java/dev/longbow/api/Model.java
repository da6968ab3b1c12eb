package dev.longbow.api;

import dev.longbow.LongbowException;
import dev.longbow.backend.Ops;
import dev.longbow.engine.Generation;
import dev.longbow.format.ModelFile;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Transformer;
import dev.longbow.tokenizer.Tokenizer;

import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BiConsumer;

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

    public GenerateResult generate(GenerateRequest request) {
        return stream(request, (id, text) -> { });
    }

    /**
     * Generates, handing each token and the text it completes to {@code onToken} as it is produced (on the calling
     * thread). The echoed prompt, if asked for, arrives first with token id -1.
     */
    public GenerateResult stream(GenerateRequest request, BiConsumer<Integer, String> onToken) {
        lifecycle.readLock().lock();
        try {
            if (closed) throw new IllegalStateException("model is closed");
            int[] prompt = tokenizer.encode(request.prompt(), request.addBos(), request.parseSpecial());
            if (prompt.length == 0) throw new LongbowException("the prompt is empty and the vocabulary has no BOS token to start from; give a prompt");
            StringBuilder text = new StringBuilder();
            Generation.Result r = Generation.run(transformer, ops, tokenizer, prompt, request.sampling(), request.maxTokens(),
                    contextLength, request.echoPrompt(), (id, piece) -> {
                        text.append(piece);
                        onToken.accept(id, piece);
                    }, request.cancelled()::get);
            return new GenerateResult(text.toString(), r.tokens(), r.promptTokens(), r.generatedTokens(), r.stopReason(),
                    r.prefillTokensPerSecond(), r.decodeTokensPerSecond(), r.firstTokenNanos() / 1e6);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            ops.close();
            file.close();
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    static Model open(ModelFile file, Tokenizer tokenizer, Ops ops, int contextLength) {
        if (tokenizer.vocabSize() != file.config().vocabSize()) {
            throw new LongbowException(file.path() + ": tokenizer has " + tokenizer.vocabSize() + " tokens but the model has " + file.config().vocabSize());
        }
        return new Model(file, new Transformer(file.config(), dev.longbow.model.ModelWeights.bind(file.config(), file.tensors(), file.path().toString())),
                tokenizer, ops, contextLength);
    }
}
