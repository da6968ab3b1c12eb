package dev.longbow.format;

import dev.longbow.LongbowException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Opens a model named by a file or folder, working out its format from its contents rather than its name. */
public final class ModelLoader {
    private ModelLoader() {}

    public static ModelFile open(Path path) {
        if (!Files.exists(path)) throw new LongbowException(path + ": no such file or folder");
        Arena arena = Arena.ofShared();
        try {
            ModelFile f = openIn(path, arena);
            f.config().validate(path.toString());
            return f;
        } catch (IOException e) {
            arena.close();
            throw new LongbowException(path + ": cannot read: " + e.getMessage());
        } catch (LongbowException e) {
            arena.close();
            // Every error about a model file names the file, whichever layer noticed it.
            throw e.getMessage().contains(path.toString()) ? e : new LongbowException(path + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static ModelFile openIn(Path path, Arena arena) throws IOException {
        if (Files.isDirectory(path)) {
            if (HuggingFace.isModelFolder(path)) return HuggingFace.open(path, arena);
            try (var files = Files.list(path)) {
                Path gguf = files.filter(p -> p.getFileName().toString().endsWith(".gguf")).sorted().findFirst().orElse(null);
                if (gguf != null) return openIn(gguf, arena);
            }
            throw new LongbowException(path + ": folder holds no model (expected config.json with *.safetensors, or a .gguf file)");
        }
        MemorySegment file = map(path, arena);
        if (file.byteSize() >= 4 && file.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 0) == Gguf.MAGIC) {
            return Gguf.open(path, arena, file);
        }
        if (path.getFileName().toString().endsWith(".safetensors")) {
            Path dir = path.toAbsolutePath().getParent();
            if (dir != null && HuggingFace.isModelFolder(dir)) return HuggingFace.open(dir, arena);
            throw new LongbowException(path + ": a safetensors file needs its config.json beside it");
        }
        if (path.getFileName().toString().endsWith(".gguf")) throw new LongbowException(path + ": not a GGUF file (bad magic)");
        return Llama2c.open(path, arena, file);
    }

    public static MemorySegment map(Path path, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) throw new LongbowException(path + ": empty file");
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        }
    }
}
