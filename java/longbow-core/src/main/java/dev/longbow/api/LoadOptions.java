package dev.longbow.api;

import dev.longbow.model.ContextOptions;

import java.nio.file.Path;

/**
 * How to load a model. {@code tokenizer} null finds one in or beside the model; {@code contextLength} 0 uses the
 * model's trained context; {@code threads} 0 uses every core the JVM sees. {@code referenceKernels} computes with
 * the scalar FP32 kernels in llama2.c's order (slow; bit-exact with run.c) instead of the vectorized ones.
 * {@code context} holds the long-context settings: RoPE scaling overrides, attention window and sinks, KV cache type.
 * {@code backend} is cpu or cuda ({@link Backends#resolve} turns the CLI's auto into one of them); {@code gpuBinding}
 * picks the CUDA binding (null: the default, Panama FFM).
 */
public record LoadOptions(Path tokenizer, int threads, int contextLength, boolean referenceKernels, ContextOptions context,
                          String backend, String gpuBinding) {
    public static final LoadOptions DEFAULT = new LoadOptions(null, 0, 0, false, ContextOptions.DEFAULT);

    public LoadOptions {
        if (context == null) context = ContextOptions.DEFAULT;
        if (backend == null) backend = Backends.CPU;
    }

    public LoadOptions(Path tokenizer, int threads, int contextLength, boolean referenceKernels, ContextOptions context) {
        this(tokenizer, threads, contextLength, referenceKernels, context, Backends.CPU, null);
    }

    public LoadOptions(Path tokenizer, int threads, int contextLength, boolean referenceKernels) {
        this(tokenizer, threads, contextLength, referenceKernels, ContextOptions.DEFAULT);
    }

    public LoadOptions withTokenizer(Path p) {
        return new LoadOptions(p, threads, contextLength, referenceKernels, context, backend, gpuBinding);
    }

    public LoadOptions withThreads(int n) {
        return new LoadOptions(tokenizer, n, contextLength, referenceKernels, context, backend, gpuBinding);
    }

    public LoadOptions withContextLength(int n) {
        return new LoadOptions(tokenizer, threads, n, referenceKernels, context, backend, gpuBinding);
    }

    public LoadOptions withReferenceKernels(boolean reference) {
        return new LoadOptions(tokenizer, threads, contextLength, reference, context, backend, gpuBinding);
    }

    public LoadOptions withContext(ContextOptions c) {
        return new LoadOptions(tokenizer, threads, contextLength, referenceKernels, c, backend, gpuBinding);
    }

    public LoadOptions withBackend(String b, String binding) {
        return new LoadOptions(tokenizer, threads, contextLength, referenceKernels, context, b, binding);
    }
}
