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
              --backend B         auto (default: CUDA when an NVIDIA driver, a GPU and the kernels are there, else CPU),
                                  cpu or cuda (docs/GPU.md); -Dlongbow.backend=B changes the default
              --gpu-binding B     how the CUDA backend reaches the driver: ffm (default: Panama FFM over libcuda) or jcuda

            long context (docs/LONG_CONTEXT.md):
            """ + ContextFlags.HELP + "\n";

    private ModelOptions() {}

    static Path model(Args a) {
        Path p = a.path("--model");
        return p != null ? p : Longbow.defaultModel();
    }

    /** Every model-running command takes these (ContextFlags.with adds them to its options). */
    static final java.util.Set<String> BACKEND_OPTIONS = java.util.Set.of("--backend", "--gpu-binding");

    /** Resolves --backend (auto prints why it did not pick CUDA when a driver was there) and the rest of the options. */
    static LoadOptions load(Args a, java.io.PrintStream err) {
        int threads = a.integer("--threads", 0);
        if (threads < 0) throw new dev.longbow.LongbowException("--threads must be >= 1, got " + threads);
        int ctx = a.integer("--ctx", 0);
        if (ctx < 0) throw new dev.longbow.LongbowException("--ctx must be >= 1, got " + ctx);
        boolean reference = a.has("--reference-kernels");
        // -Dlongbow.backend sets the default: the test suite pins it to cpu so its goldens stay CPU-exact on GPU hosts.
        String requested = a.str("--backend", reference ? dev.longbow.api.Backends.CPU
                : System.getProperty("longbow.backend", dev.longbow.api.Backends.AUTO));
        String binding = a.str("--gpu-binding", null);
        dev.longbow.api.Backends.Choice backend = dev.longbow.api.Backends.resolve(requested, binding);
        if (backend.note() != null) err.println(backend.note());
        return new LoadOptions(a.path("--tokenizer"), threads, ctx, reference, ContextFlags.parse(a), backend.backend(), binding);
    }
}
