package dev.longbow.format;

import dev.longbow.LongbowException;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.RopeScaling;
import dev.longbow.model.RotaryLayout;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * llama2.c's checkpoint: seven int32s (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len),
 * then fp32 weights in a fixed order. A negative vocab_size means the classifier is stored separately at the end;
 * positive means it shares the token embedding.
 */
public final class Llama2c {
    static final int HEADER_BYTES = 28;

    private Llama2c() {}

    /** Heuristic sniff: the header's seven ints are all plausible and the sizes they imply fit the file. */
    static boolean looksLike(MemorySegment file) {
        if (file.byteSize() < HEADER_BYTES) return false;
        try {
            layout(file, "?");
            return true;
        } catch (LongbowException e) {
            return false;
        }
    }

    static ModelFile open(Path path, Arena arena, MemorySegment file) {
        String name = path.toString();
        Layout l = layout(file, name);
        ModelConfig c = l.config;
        Map<String, Tensor> t = new LinkedHashMap<>();
        long[] off = {HEADER_BYTES};
        int dim = c.dim(), hidden = c.hiddenDim(), kvDim = c.kvDim(), L = c.layers();
        Tensor embedding = take(file, off, "token_embd.weight", c.vocabSize(), dim);
        t.put(embedding.name(), embedding);
        // Each kind of weight is stored for all layers together; slice it per layer under GGUF's names.
        perLayer(file, off, t, L, "attn_norm", 1, dim);
        perLayer(file, off, t, L, "attn_q", c.qDim(), dim);
        perLayer(file, off, t, L, "attn_k", kvDim, dim);
        perLayer(file, off, t, L, "attn_v", kvDim, dim);
        perLayer(file, off, t, L, "attn_output", dim, c.qDim());
        perLayer(file, off, t, L, "ffn_norm", 1, dim);
        perLayer(file, off, t, L, "ffn_gate", hidden, dim);
        perLayer(file, off, t, L, "ffn_down", dim, hidden);
        perLayer(file, off, t, L, "ffn_up", hidden, dim);
        Tensor norm = take(file, off, "output_norm.weight", 1, dim);
        t.put(norm.name(), new Tensor(norm.name(), WeightType.F32, new long[]{dim}, norm.data()));
        off[0] += 4L * c.contextLength() * c.headDim(); // legacy freq_cis_real and freq_cis_imag, unused
        if (!l.sharedClassifier) t.put("output.weight", take(file, off, "output.weight", c.vocabSize(), dim));
        return new ModelFile(path, ModelFile.Format.LLAMA2C, c, t, Map.of(), arena);
    }

    private record Layout(ModelConfig config, boolean sharedClassifier) {}

    private static Layout layout(MemorySegment file, String name) {
        Bytes in = new Bytes(file, name);
        if (file.byteSize() < HEADER_BYTES) throw new LongbowException(name + ": too short for a llama2.c checkpoint header");
        int dim = in.i32(), hidden = in.i32(), layers = in.i32(), heads = in.i32(), kvHeads = in.i32(), vocab = in.i32(), seqLen = in.i32();
        boolean shared = vocab > 0;
        vocab = Math.abs(vocab);
        if (heads <= 0 || dim % Math.max(heads, 1) != 0) throw new LongbowException(name + ": dim " + dim + " is not divisible by " + heads + " heads");
        ModelConfig c = new ModelConfig("llama", dim, hidden, layers, heads, kvHeads, dim / heads, vocab, seqLen, 1e-5f, 10000f,
                RotaryLayout.INTERLEAVED, RopeScaling.NONE, 0);
        c.validate(name);
        long kvDim = c.kvDim();
        long floats = (long) vocab * dim
                + layers * ((long) dim * 2 + (long) dim * dim * 2 + kvDim * dim * 2 + (long) hidden * dim * 3)
                + dim + (long) seqLen * c.headDim() + (shared ? 0 : (long) vocab * dim);
        long need = HEADER_BYTES + 4 * floats;
        if (file.byteSize() < need) {
            throw new LongbowException(name + ": truncated llama2.c checkpoint: header implies " + need + " bytes, file has " + file.byteSize());
        }
        return new Layout(c, shared);
    }

    private static void perLayer(MemorySegment file, long[] off, Map<String, Tensor> t, int layers, String kind, int rows, int cols) {
        for (int l = 0; l < layers; l++) {
            String name = "blk." + l + "." + kind + ".weight";
            Tensor x = take(file, off, name, rows, cols);
            t.put(name, rows == 1 ? new Tensor(name, WeightType.F32, new long[]{cols}, x.data()) : x);
        }
    }

    private static Tensor take(MemorySegment file, long[] off, String name, long rows, long cols) {
        long bytes = 4 * rows * cols;
        Tensor t = new Tensor(name, WeightType.F32, new long[]{rows, cols}, file.asSlice(off[0], bytes));
        off[0] += bytes;
        return t;
    }
}
