package dev.longbow.cli;

import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;

import java.nio.file.Path;

/** The options every model-loading command shares, and how they become LoadOptions. */
final class ModelOptions {
    static final String HELP = """
              --model PATH        model file or folder (llama2.c .bin, .gguf, Hugging Face folder); default: the embedded sample model
              --tokenizer PATH    tokenizer file (tokenizer.bin, vocab .gguf); default: found in or beside the model
              --threads N         worker threads (default: all cores)
              --ctx N             context length to run at (default: the model's)
              --reference-kernels scalar FP32 kernels in llama2.c's order: slow, bit-exact with run.c

            long context (docs/LONG_CONTEXT.md):
            """ + ContextFlags.HELP + "\n";

    private ModelOptions() {}

    static Path model(Args a) {
        Path p = a.path("--model");
        return p != null ? p : Longbow.defaultModel();
    }

    static LoadOptions load(Args a) {
        int threads = a.integer("--threads", 0);
        if (threads < 0) throw new dev.longbow.LongbowException("--threads must be >= 1, got " + threads);
        int ctx = a.integer("--ctx", 0);
        if (ctx < 0) throw new dev.longbow.LongbowException("--ctx must be >= 1, got " + ctx);
        return new LoadOptions(a.path("--tokenizer"), threads, ctx, a.has("--reference-kernels"), ContextFlags.parse(a));
    }
}
