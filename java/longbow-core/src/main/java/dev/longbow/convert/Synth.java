package dev.longbow.convert;

import dev.longbow.LongbowException;
import dev.longbow.format.GgufValue;
import dev.longbow.format.GgufWriter;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.RopeScaling;
import dev.longbow.model.RotaryLayout;
import dev.longbow.tensor.Quantizer;
import dev.longbow.tensor.WeightType;
import dev.longbow.tokenizer.SentencePieceBpe;
import dev.longbow.tokenizer.Tokenizer;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Deterministic random-weight models in the shapes of released ones, for benchmarks where real weights cannot be had.
 * Each tensor's values come from its own seeded stream, so a file is the same on every machine; weights are scaled by
 * 1/sqrt(fan-in) so activations stay in a realistic range through all layers.
 */
public final class Synth {
    private Synth() {}

    /** Released shapes: dim, hidden, layers, heads, kv heads, vocab, context, rope base, architecture, window. */
    public static final Map<String, ModelConfig> SHAPES = new LinkedHashMap<>();

    static {
        shape("llama3.2-1b", "llama", 2048, 8192, 16, 32, 8, 128256, 131072, 500000f, 0);
        shape("llama3.2-3b", "llama", 3072, 8192, 28, 24, 8, 128256, 131072, 500000f, 0);
        shape("llama3.1-8b", "llama", 4096, 14336, 32, 32, 8, 128256, 131072, 500000f, 0);
        shape("llama2-7b", "llama", 4096, 11008, 32, 32, 32, 32000, 4096, 10000f, 0);
        shape("tinyllama-1.1b", "llama", 2048, 5632, 22, 32, 4, 32000, 2048, 10000f, 0);
        shape("mistral-7b", "llama", 4096, 14336, 32, 32, 8, 32000, 32768, 10000f, 4096);
        shape("qwen2-0.5b", "qwen2", 896, 4864, 24, 14, 2, 151936, 32768, 1000000f, 0);
        shape("stories110m", "llama", 768, 2048, 12, 12, 12, 32000, 1024, 10000f, 0);
        shape("stories15m", "llama", 288, 768, 6, 6, 6, 32000, 256, 10000f, 0);
        // The smallest file that still runs: for carrying a tokenizer into another engine.
        shape("tiny", "llama", 64, 128, 1, 4, 4, 32000, 512, 10000f, 0);
        // The smallest whose every matrix row fills K-quant super-blocks of 256 values.
        shape("tiny-256", "llama", 256, 768, 2, 4, 4, 32000, 512, 10000f, 0);
    }

    private static void shape(String name, String arch, int dim, int hidden, int layers, int heads, int kv, int vocab, int ctx, float theta, int window) {
        SHAPES.put(name, new ModelConfig(arch, dim, hidden, layers, heads, kv, dim / heads, vocab, ctx, 1e-5f, theta,
                arch.equals("qwen2") ? RotaryLayout.HALF_SPLIT : RotaryLayout.INTERLEAVED, RopeScaling.NONE, window));
    }

    public static ModelConfig shape(String name) {
        ModelConfig c = SHAPES.get(name);
        if (c == null) throw new LongbowException("unknown shape '" + name + "' (known: " + String.join(", ", SHAPES.keySet()) + ")");
        return c;
    }

    public static void write(ModelConfig c, WeightType type, long seed, Path out) throws IOException {
        write(c, type, seed, out, null);
    }

    /** As {@link #write(ModelConfig, WeightType, long, Path)}, carrying {@code tokenizer} (its size sets the vocabulary); null for a made-up one. */
    public static void write(ModelConfig shape, WeightType type, long seed, Path out, Tokenizer tokenizer) throws IOException {
        ModelConfig c = tokenizer == null ? shape : withVocabulary(shape, tokenizer.vocabSize());
        Map<String, GgufValue> md = GgufConverter.metadata(c, type, "synthetic");
        md.putAll(GgufConverter.tokenizerMetadata(tokenizer != null ? tokenizer : vocabulary(c.vocabSize())));
        List<GgufWriter.OutTensor> tensors = new ArrayList<>();
        matrix(tensors, "token_embd.weight", c.vocabSize(), c.dim(), type, seed, 1f);
        for (int l = 0; l < c.layers(); l++) {
            String p = "blk." + l + ".";
            ones(tensors, p + "attn_norm.weight", c.dim());
            matrix(tensors, p + "attn_q.weight", c.qDim(), c.dim(), type, seed, 1f);
            matrix(tensors, p + "attn_k.weight", c.kvDim(), c.dim(), type, seed, 1f);
            matrix(tensors, p + "attn_v.weight", c.kvDim(), c.dim(), type, seed, 1f);
            if (c.architecture().equals("qwen2")) {
                matrix(tensors, p + "attn_q.bias", 1, c.qDim(), WeightType.F32, seed, 0.1f);
                matrix(tensors, p + "attn_k.bias", 1, c.kvDim(), WeightType.F32, seed, 0.1f);
                matrix(tensors, p + "attn_v.bias", 1, c.kvDim(), WeightType.F32, seed, 0.1f);
            }
            matrix(tensors, p + "attn_output.weight", c.dim(), c.qDim(), type, seed, 1f);
            ones(tensors, p + "ffn_norm.weight", c.dim());
            matrix(tensors, p + "ffn_gate.weight", c.hiddenDim(), c.dim(), type, seed, 1f);
            matrix(tensors, p + "ffn_up.weight", c.hiddenDim(), c.dim(), type, seed, 1f);
            matrix(tensors, p + "ffn_down.weight", c.dim(), c.hiddenDim(), type, seed, 1f);
        }
        ones(tensors, "output_norm.weight", c.dim());
        matrix(tensors, "output.weight", c.vocabSize(), c.dim(), type, seed, 1f);
        GgufWriter.write(out, md, tensors);
    }

    private static ModelConfig withVocabulary(ModelConfig c, int vocab) {
        return new ModelConfig(c.architecture(), c.dim(), c.hiddenDim(), c.layers(), c.heads(), c.kvHeads(), c.headDim(), vocab,
                c.contextLength(), c.normEps(), c.ropeTheta(), c.rotaryLayout(), c.ropeScaling(), c.slidingWindow());
    }

    private static void ones(List<GgufWriter.OutTensor> out, String name, int n) {
        out.add(new GgufWriter.OutTensor(name, WeightType.F32, new long[]{n}, () -> {
            float[] v = new float[n];
            java.util.Arrays.fill(v, 1f);
            return MemorySegment.ofArray(Quantizer.encode(WeightType.F32, v));
        }));
    }

    private static void matrix(List<GgufWriter.OutTensor> out, String name, int rows, int cols, WeightType requested, long seed, float gain) {
        long[] shape = rows == 1 ? new long[]{cols} : new long[]{rows, cols};
        WeightType type = GgufConverter.matrixType(requested, cols);
        out.add(new GgufWriter.OutTensor(name, type, shape, () -> {
            SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode());
            float scale = gain * (float) Math.sqrt(3.0 / cols); // uniform with variance 1/cols
            // Quantize a row band at a time so a 128K-vocabulary embedding never needs a float copy of itself.
            long rowBytes = type.bytesFor(cols);
            MemorySegment seg = java.lang.foreign.Arena.ofAuto().allocate(rowBytes * rows);
            float[] row = new float[cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) row[j] = (float) (r.nextDouble() * 2 - 1) * scale;
                MemorySegment.copy(MemorySegment.ofArray(Quantizer.encode(type, row)), 0, seg, i * rowBytes, rowBytes);
            }
            return seg;
        }));
    }

    /** A SentencePiece-shaped vocabulary: unk, BOS, EOS, the 256 byte tokens, then distinct made-up pieces. */
    static SentencePieceBpe vocabulary(int n) {
        String[] pieces = new String[n];
        float[] scores = new float[n];
        int[] types = new int[n];
        pieces[0] = "<unk>";
        pieces[1] = "<s>";
        pieces[2] = "</s>";
        types[0] = SentencePieceBpe.UNKNOWN;
        types[1] = types[2] = SentencePieceBpe.CONTROL;
        for (int b = 0; b < 256 && 3 + b < n; b++) {
            pieces[3 + b] = String.format("<0x%02X>", b);
            types[3 + b] = SentencePieceBpe.BYTE;
        }
        for (int i = 259; i < n; i++) {
            StringBuilder s = new StringBuilder("\u2581");
            for (int k = i - 259; ; k = k / 26 - 1) {
                s.append((char) ('a' + k % 26));
                if (k < 26) break;
            }
            pieces[i] = s.toString();
            types[i] = SentencePieceBpe.NORMAL;
            scores[i] = -i;
        }
        return new SentencePieceBpe(pieces, scores, types, 1, 2, 0);
    }
}
