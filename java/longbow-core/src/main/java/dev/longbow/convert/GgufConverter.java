package dev.longbow.convert;

import dev.longbow.LongbowException;
import dev.longbow.format.GgufValue;
import dev.longbow.format.GgufWriter;
import dev.longbow.format.ModelFile;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.RopeScaling;
import dev.longbow.model.RotaryLayout;
import dev.longbow.tensor.CompressedLayout;
import dev.longbow.tensor.Quantizer;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;
import dev.longbow.tokenizer.BpeTokenizer;
import dev.longbow.tokenizer.GgufBpe;
import dev.longbow.tokenizer.SentencePieceBpe;
import dev.longbow.tokenizer.Tokenizer;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes any loaded model as GGUF in the layout llama.cpp expects: q/k rows interleaved for "llama", norms in F32,
 * matrices in the requested type (see {@link #matrixType} where a row does not fill whole blocks), and the tokenizer in
 * the metadata. Every matrix gets the one type asked for, as {@code llama-quantize --pure} does: no per-tensor mixes.
 */
public final class GgufConverter {
    private GgufConverter() {}

    /**
     * What a compressor changes on the way out: per tensor a type other than the file's, replaced values (in the
     * source's row order, e.g. pruned weights or norms with smoothing folded in; null keeps the tensor's own), INT8
     * row scales to encode with, and extra metadata.
     */
    public record Overrides(Map<String, WeightType> types, java.util.function.Function<Tensor, float[]> values,
                            Map<String, float[]> scales, Map<String, GgufValue> metadata) {}

    public static void convert(ModelFile in, Tokenizer tokenizer, WeightType type, Path out) throws IOException {
        convert(in, tokenizer, type, out, null);
    }

    public static void convert(ModelFile in, Tokenizer tokenizer, WeightType type, Path out, Overrides overrides) throws IOException {
        ModelConfig c = in.config();
        Map<String, GgufValue> md = metadata(c, type, in.path().getFileName().toString());
        if (overrides != null) md.putAll(overrides.metadata());
        if (tokenizer != null) md.putAll(tokenizerMetadata(tokenizer));
        if (tokenizer != null && in.format() == ModelFile.Format.LLAMA2C) {
            // llama2.c models end a story by starting the next: BOS is their end of text, as Longbow treats it.
            md.put("tokenizer.ggml.eot_token_id", GgufValue.u32(tokenizer.bos()));
        }
        List<GgufWriter.OutTensor> tensors = new ArrayList<>();
        // llama.cpp's "llama" architecture expects interleaved q/k rows; "qwen2" keeps transformers' order.
        boolean permute = c.architecture().equals("llama") && c.rotaryLayout() == RotaryLayout.HALF_SPLIT;
        for (Tensor t : in.tensors().values()) {
            boolean isQ = t.name().endsWith("attn_q.weight") || t.name().endsWith("attn_q.bias");
            boolean isK = t.name().endsWith("attn_k.weight") || t.name().endsWith("attn_k.bias");
            boolean matrix = t.shape().length == 2 && t.shape()[0] > 1;
            WeightType chosen = overrides == null ? null : overrides.types().get(t.name());
            WeightType target = chosen != null ? chosen : !matrix ? WeightType.F32 : matrixType(type, t.cols());
            tensors.add(new GgufWriter.OutTensor(t.name(), target, t.shape(), () -> {
                float[] replaced = overrides == null ? null : overrides.values().apply(t);
                float[] v = replaced != null ? replaced : t.toFloatArray();
                float[] scales = overrides == null ? null : overrides.scales().get(t.name());
                int rows = t.shape().length == 2 ? t.rows() : (int) t.elementCount();
                if (permute && (isQ || isK)) {
                    v = RotaryPermutation.permuteRows(v, rows, (int) (t.elementCount() / rows), c.headDim(), RotaryLayout.HALF_SPLIT);
                    if (scales != null) scales = RotaryPermutation.permuteRows(scales, rows, 1, c.headDim(), RotaryLayout.HALF_SPLIT);
                }
                if (target.sectioned()) return MemorySegment.ofArray(CompressedLayout.encode(target, v, t.rows(), t.cols(), scales));
                return MemorySegment.ofArray(Quantizer.encode(target, v));
            }));
        }
        if (c.ropeScaling().method() == RopeScaling.Method.LLAMA3 && !in.tensors().containsKey("rope_freqs.weight")) {
            // llama.cpp applies Llama 3.1's scaling through per-pair frequency divisors stored as a tensor.
            float[] plain = RopeScaling.NONE.table(c.headDim(), c.ropeTheta(), 0).inverseFrequencies();
            float[] scaled = c.ropeScaling().table(c.headDim(), c.ropeTheta(), 0).inverseFrequencies();
            float[] divisors = new float[plain.length];
            for (int i = 0; i < plain.length; i++) divisors[i] = plain[i] / scaled[i];
            tensors.add(new GgufWriter.OutTensor("rope_freqs.weight", WeightType.F32, new long[]{divisors.length},
                    () -> MemorySegment.ofArray(Quantizer.encode(WeightType.F32, divisors))));
        }
        GgufWriter.write(out, md, tensors);
    }

    /**
     * The type a matrix with rows of {@code cols} values is written in when {@code requested} is asked for. Rows that
     * do not fill whole blocks fall back as llama.cpp's quantizer does, except that where it picks Q5_0 (for Q4_K) or
     * Q5_1 (for Q5_K), which Longbow does not read, this picks Q8_0, as it does for Q6_K: never less precise than
     * llama.cpp's choice. Rows that do not fill 32-value blocks either are written in F16, as there.
     */
    public static WeightType matrixType(WeightType requested, int cols) {
        if (cols % requested.blockSize == 0) return requested;
        boolean kQuant = requested == WeightType.Q4_K || requested == WeightType.Q5_K || requested == WeightType.Q6_K;
        return kQuant && cols % WeightType.Q8_0.blockSize == 0 ? WeightType.Q8_0 : WeightType.F16;
    }

    static Map<String, GgufValue> metadata(ModelConfig c, WeightType type, String name) {
        String a = c.architecture();
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("general.architecture", GgufValue.string(a));
        md.put("general.name", GgufValue.string(name));
        md.put("general.file_type", GgufValue.u32(switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            // llama.cpp's LLAMA_FTYPE_MOSTLY_Q4_K_S, Q5_K_S and Q6_K: the closest names for a file all in one K-quant.
            case Q4_K -> 14;
            case Q5_K -> 16;
            case Q6_K -> 18;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException(type + " is per tensor, not a file type");
        }));
        md.put(a + ".vocab_size", GgufValue.u32(c.vocabSize()));
        md.put(a + ".context_length", GgufValue.u32(c.contextLength()));
        md.put(a + ".embedding_length", GgufValue.u32(c.dim()));
        md.put(a + ".block_count", GgufValue.u32(c.layers()));
        md.put(a + ".feed_forward_length", GgufValue.u32(c.hiddenDim()));
        md.put(a + ".attention.head_count", GgufValue.u32(c.heads()));
        md.put(a + ".attention.head_count_kv", GgufValue.u32(c.kvHeads()));
        if (c.headDim() != c.dim() / c.heads()) {
            md.put(a + ".attention.key_length", GgufValue.u32(c.headDim()));
            md.put(a + ".attention.value_length", GgufValue.u32(c.headDim()));
        }
        md.put(a + ".rope.dimension_count", GgufValue.u32(c.headDim()));
        md.put(a + ".rope.freq_base", GgufValue.f32(c.ropeTheta()));
        md.put(a + ".attention.layer_norm_rms_epsilon", GgufValue.f32(c.normEps()));
        if (c.slidingWindow() > 0) md.put(a + ".attention.sliding_window", GgufValue.u32(c.slidingWindow()));
        RopeScaling rs = c.ropeScaling();
        switch (rs.method()) {
            case NONE, LLAMA3 -> { } // Llama 3.1's scaling travels as the rope_freqs tensor
            case LINEAR -> {
                md.put(a + ".rope.scaling.type", GgufValue.string("linear"));
                md.put(a + ".rope.scaling.factor", GgufValue.f32(rs.factor()));
            }
            case YARN -> {
                md.put(a + ".rope.scaling.type", GgufValue.string("yarn"));
                md.put(a + ".rope.scaling.factor", GgufValue.f32(rs.factor()));
                md.put(a + ".rope.scaling.original_context_length", GgufValue.u32(rs.originalContext()));
                md.put(a + ".rope.scaling.yarn_beta_fast", GgufValue.f32(rs.betaFast()));
                md.put(a + ".rope.scaling.yarn_beta_slow", GgufValue.f32(rs.betaSlow()));
            }
            default -> throw new LongbowException(name + ": rope scaling '" + rs.method().key() + "' cannot be written to GGUF yet");
        }
        return md;
    }

    /**
     * The tokenizer as GGUF's tokenizer.ggml.* keys: byte-level BPE as llama.cpp's "gpt2" kind; SentencePiece
     * vocabularies as "llama" (spaces back to U+2581, llama2.c's BOS/EOS renamed).
     */
    public static Map<String, GgufValue> tokenizerMetadata(Tokenizer tokenizer) {
        if (tokenizer instanceof BpeTokenizer bpe && bpe.isByteLevel()) return GgufBpe.metadata(bpe);
        if (!(tokenizer instanceof SentencePieceBpe sp)) throw new LongbowException("cannot write this tokenizer kind to GGUF yet");
        int n = sp.vocabSize();
        List<String> tokens = new ArrayList<>(n);
        List<Double> scores = new ArrayList<>(n);
        List<Long> types = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String p = sp.piece(i);
            if (i == sp.bos() && p.contains("<s>")) p = "<s>";
            else if (i == sp.eos() && p.contains("</s>")) p = "</s>";
            tokens.add(p.replace(' ', '\u2581'));
            scores.add((double) sp.score(i));
            types.add((long) sp.type(i));
        }
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("tokenizer.ggml.model", GgufValue.string("llama"));
        md.put("tokenizer.ggml.tokens", GgufValue.array(GgufValue.Type.STRING, tokens));
        md.put("tokenizer.ggml.scores", GgufValue.array(GgufValue.Type.FLOAT32, scores));
        md.put("tokenizer.ggml.token_type", GgufValue.array(GgufValue.Type.INT32, types));
        if (sp.bos() >= 0) md.put("tokenizer.ggml.bos_token_id", GgufValue.u32(sp.bos()));
        if (sp.eos() >= 0) md.put("tokenizer.ggml.eos_token_id", GgufValue.u32(sp.eos()));
        md.put("tokenizer.ggml.unknown_token_id", GgufValue.u32(sp.unk()));
        if (!sp.addsDummyPrefix()) md.put("tokenizer.ggml.add_space_prefix", GgufValue.bool(false));
        md.put("tokenizer.ggml.add_bos_token", GgufValue.bool(true));
        md.put("tokenizer.ggml.add_eos_token", GgufValue.bool(false));
        return md;
    }
}
