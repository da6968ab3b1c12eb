package dev.longbow.compress;

import dev.longbow.LongbowException;
import dev.longbow.backend.Ops;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.engine.Perplexity;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.model.ModelWeights;
import dev.longbow.model.Transformer;
import dev.longbow.tensor.Quantizer;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model opened for compression work: its file, tokenizer and a CPU backend, and models built from it with some
 * weights replaced (a layer quantized, a block pruned), run over calibration text in disjoint windows.
 */
final class Workbench implements AutoCloseable {
    /** Fewer calibration tokens than this leave too few windows to say anything about a layer. */
    static final int MIN_TOKENS = 256;
    /** Calibration windows: long enough for attention to matter, short enough to be cheap. */
    static final int MAX_WINDOW = 256;

    final ModelFile file;
    final Tokenizer tokenizer;
    final CpuOps ops;
    final int window;

    Workbench(Path model, int threads) {
        this.file = ModelLoader.open(model);
        try {
            this.tokenizer = Tokenizers.forModel(file, null);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
        this.ops = new CpuOps(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
        this.window = Math.min(MAX_WINDOW, file.config().contextLength());
    }

    /** The first {@code maxTokens} tokens of a text file; a one-line error when it holds fewer than {@link #MIN_TOKENS}. */
    int[] tokens(Path text, int maxTokens) {
        String s;
        if (!Files.isRegularFile(text)) throw new LongbowException(text + ": no such file");
        try {
            s = Files.readString(text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new LongbowException(text + ": cannot read: " + e.getMessage());
        }
        if (s.isEmpty()) throw new LongbowException(text + ": the calibration text is empty");
        int[] t = Perplexity.tokens(tokenizer, s, maxTokens);
        if (t.length < MIN_TOKENS) {
            throw new LongbowException(text + ": the calibration text is " + t.length + " tokens; at least " + MIN_TOKENS + " are needed");
        }
        return t;
    }

    /** This model with the named tensors replaced by F32 copies of the given values (same shapes). */
    Transformer transformer(Map<String, float[]> replaced) {
        Map<String, Tensor> tensors = new LinkedHashMap<>(file.tensors());
        for (Map.Entry<String, float[]> e : replaced.entrySet()) {
            Tensor old = tensors.get(e.getKey());
            // Off the heap, as mapped weights are: the vector kernels read heap segments through a slower path.
            byte[] bytes = Quantizer.encode(WeightType.F32, e.getValue());
            MemorySegment native_ = java.lang.foreign.Arena.ofAuto().allocate(bytes.length, 64);
            MemorySegment.copy(MemorySegment.ofArray(bytes), 0, native_, 0, bytes.length);
            tensors.put(e.getKey(), new Tensor(old.name(), WeightType.F32, old.shape(), native_));
        }
        return new Transformer(file.config(), ModelWeights.bind(file.config(), tensors, file.path().toString()));
    }

    double perplexity(Transformer t, Ops with, int[] tokens) {
        return Perplexity.run(t, with, tokens, tokenizer.bos(), window, window).perplexity();
    }

    @Override
    public void close() {
        ops.close();
        file.close();
    }
}
