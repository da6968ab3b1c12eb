package dev.longbow.api;

import java.nio.file.Path;

/**
 * How to load a model. {@code tokenizer} null finds one in or beside the model; {@code contextLength} 0 uses the
 * model's trained context; {@code threads} 0 uses every core the JVM sees. {@code referenceKernels} computes with
 * the scalar FP32 kernels in llama2.c's order (slow; bit-exact with run.c) instead of the vectorized ones.
 */
public record LoadOptions(Path tokenizer, int threads, int contextLength, boolean referenceKernels) {
    public static final LoadOptions DEFAULT = new LoadOptions(null, 0, 0, false);

    public LoadOptions withTokenizer(Path p) {
        return new LoadOptions(p, threads, contextLength, referenceKernels);
    }

    public LoadOptions withThreads(int n) {
        return new LoadOptions(tokenizer, n, contextLength, referenceKernels);
    }

    public LoadOptions withContextLength(int n) {
        return new LoadOptions(tokenizer, threads, n, referenceKernels);
    }

    public LoadOptions withReferenceKernels(boolean reference) {
        return new LoadOptions(tokenizer, threads, contextLength, reference);
    }
}
