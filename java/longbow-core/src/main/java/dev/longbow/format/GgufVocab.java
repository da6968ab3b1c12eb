package dev.longbow.format;

import dev.longbow.LongbowException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;

/** Opens a GGUF only for its metadata, as vocabulary-only files (llama.cpp's ggml-vocab-*.gguf) are used. */
public final class GgufVocab {
    private GgufVocab() {}

    public static ModelFile open(Path path) {
        Arena arena = Arena.ofShared();
        try {
            Gguf.Contents c = Gguf.read(ModelLoader.map(path, arena), path.toString());
            return new ModelFile(path, ModelFile.Format.GGUF, null, c.tensors(), c.metadata(), arena);
        } catch (IOException e) {
            arena.close();
            throw new LongbowException(path + ": cannot read: " + e.getMessage());
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }
}
