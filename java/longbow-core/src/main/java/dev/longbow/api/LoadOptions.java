package dev.longbow.api;

import java.nio.file.Path;

/**
 * How to load a model. {@code tokenizer} null finds one in or beside the model; {@code contextLength} 0 uses the
 * model's trained context; {@code threads} 0 uses every core the JVM sees.
 */
public record LoadOptions(Path tokenizer, int threads, int contextLength) {
    public static final LoadOptions DEFAULT = new LoadOptions(null, 0, 0);

    public LoadOptions withTokenizer(Path p) {
        return new LoadOptions(p, threads, contextLength);
    }

    public LoadOptions withThreads(int n) {
        return new LoadOptions(tokenizer, n, contextLength);
    }

    public LoadOptions withContextLength(int n) {
        return new LoadOptions(tokenizer, threads, n);
    }
}
