package dev.longbow.api;

import dev.longbow.LongbowException;
import dev.longbow.backend.GpuBackend;
import dev.longbow.backend.Ops;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.tensor.Tensor;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The entry point for programs that embed Longbow. */
public final class Longbow {
    public static final String VERSION = "0.1.0";

    private Longbow() {}

    /** Loads a model from a file or folder (llama2.c .bin, GGUF, Hugging Face safetensors folder). */
    public static Model load(Path path, LoadOptions options) {
        ModelFile file = ModelLoader.open(path);
        try {
            Tokenizer tokenizer = Tokenizers.forModel(file, options.tokenizer());
            int ctx = options.contextLength() > 0 ? options.contextLength() : file.config().contextLength();
            int threads = options.threads() > 0 ? options.threads() : Runtime.getRuntime().availableProcessors();
            return Model.open(file, tokenizer, ops(options, file, threads), ctx, options.context());
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static Ops ops(LoadOptions options, ModelFile file, int threads) {
        if (options.backend().equals(Backends.CUDA)) {
            if (options.referenceKernels()) throw new LongbowException("--reference-kernels is a CPU mode; it cannot run with --backend cuda");
            GpuBackend gpu = GpuBackend.find().orElseThrow(() -> new LongbowException("--backend cuda: this Longbow has no CUDA module (longbow-cuda jar) on its class path"));
            // F16 on the device: two bytes per weight whatever the file's type (1-D tensors stay F32, a rounding error here).
            long weights = 0;
            for (Tensor t : file.tensors().values()) weights += 2 * t.elementCount() + 256;
            return gpu.open(options.gpuBinding(), weights);
        }
        CpuOps.Kernels kernels = options.referenceKernels() ? CpuOps.Kernels.REFERENCE : CpuOps.Kernels.VECTOR;
        return new CpuOps(threads, kernels);
    }

    public static Model load(Path path) {
        return load(path, LoadOptions.DEFAULT);
    }

    /** The embedded sample model (llama2.c's stories260K, MIT), unpacked once to a cache folder so it can be mapped. */
    public static Path defaultModel() {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "longbow-" + VERSION + "-" + System.getProperty("user.name", "user"));
        try {
            Files.createDirectories(dir);
            for (String f : new String[]{"stories260K.bin", "tok512.bin"}) {
                Path target = dir.resolve(f);
                if (Files.isRegularFile(target)) continue;
                try (InputStream in = Longbow.class.getResourceAsStream("/dev/longbow/models/" + f)) {
                    if (in == null) throw new LongbowException("the embedded sample model is missing from this build (" + f + ")");
                    Path tmp = Files.createTempFile(dir, f, ".partial");
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                }
            }
            return dir.resolve("stories260K.bin");
        } catch (IOException e) {
            throw new LongbowException("cannot unpack the embedded sample model to " + dir + ": " + e.getMessage());
        }
    }
}
