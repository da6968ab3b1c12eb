package dev.longbow.format;

import dev.longbow.model.ModelConfig;
import dev.longbow.tensor.Tensor;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Map;

/**
 * What every format reader yields: the model's configuration, its tensors under GGUF's names
 * ({@code token_embd.weight}, {@code blk.0.attn_q.weight}, ...) viewing the mapped file, and the
 * format's metadata (GGUF key/values; empty for formats without them). The arena owns every mapping.
 */
public record ModelFile(Path path, Format format, ModelConfig config, Map<String, Tensor> tensors,
                        Map<String, GgufValue> metadata, Arena arena) implements AutoCloseable {

    public enum Format { LLAMA2C, GGUF, SAFETENSORS }

    public Tensor tensor(String name) {
        return tensors.get(name);
    }

    @Override
    public void close() {
        arena.close();
    }
}
