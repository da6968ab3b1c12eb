package dev.longbow.format;

import dev.longbow.LongbowException;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.RopeScaling;
import dev.longbow.model.RotaryLayout;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads GGUF v2 and v3 (llama.cpp's format): metadata of every type, tensor infos, aligned tensor data. */
public final class Gguf {
    static final int MAGIC = 0x46554747; // "GGUF" little-endian
    static final int DEFAULT_ALIGNMENT = 32;
    private static final int MAX_DIMS = 4;
    /** No real metadata array comes near this (vocabularies and merges are at most a few million entries). */
    private static final long MAX_ARRAY = 1 << 24;
    /** Names of GGML types Longbow does not read yet, so the error says which one the file uses. */
    private static final Map<Integer, String> OTHER_GGML_TYPES = Map.ofEntries(
            Map.entry(3, "Q4_1"), Map.entry(6, "Q5_0"), Map.entry(7, "Q5_1"), Map.entry(9, "Q8_1"),
            Map.entry(10, "Q2_K"), Map.entry(11, "Q3_K"), Map.entry(15, "Q8_K"), Map.entry(16, "IQ2_XXS"), Map.entry(17, "IQ2_XS"),
            Map.entry(18, "IQ3_XXS"), Map.entry(19, "IQ1_S"), Map.entry(20, "IQ4_NL"), Map.entry(21, "IQ3_S"),
            Map.entry(22, "IQ2_S"), Map.entry(23, "IQ4_XS"), Map.entry(24, "I8"), Map.entry(25, "I16"),
            Map.entry(26, "I32"), Map.entry(27, "I64"), Map.entry(28, "F64"), Map.entry(29, "IQ1_M"),
            Map.entry(34, "TQ1_0"), Map.entry(35, "TQ2_0"), Map.entry(39, "MXFP4"));

    private Gguf() {}

    /** The parsed header: metadata in file order and tensors viewing the mapped data. */
    public record Contents(int version, Map<String, GgufValue> metadata, Map<String, Tensor> tensors) {}

    public static Contents read(MemorySegment file, String name) {
        Bytes in = new Bytes(file, name);
        if (file.byteSize() < 4 || in.i32() != MAGIC) throw new LongbowException(name + ": not a GGUF file (bad magic)");
        int version = in.i32();
        if (version != 2 && version != 3) {
            throw new LongbowException(name + ": GGUF version " + Integer.toUnsignedString(version) + " is not supported (only 2 and 3)");
        }
        long tensorCount = in.i64();
        long kvCount = in.i64();
        // Each key/value takes at least 8 (key length) + 4 (type) + 1 bytes, each tensor info at least 8 + 4 + 4 + 8.
        if (kvCount < 0 || kvCount > in.remaining() / 13) throw new LongbowException(name + ": absurd metadata count " + Long.toUnsignedString(kvCount));
        if (tensorCount < 0 || tensorCount > in.remaining() / 24) throw new LongbowException(name + ": absurd tensor count " + Long.toUnsignedString(tensorCount));

        Map<String, GgufValue> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = string(in, "metadata key");
            int typeId = in.i32();
            GgufValue.Type type = GgufValue.Type.of(typeId);
            if (type == null) throw new LongbowException(name + ": metadata '" + key + "' has unknown value type " + typeId);
            metadata.put(key, new GgufValue(type, value(in, type, key, 0)));
        }

        long alignment = DEFAULT_ALIGNMENT;
        GgufValue a = metadata.get("general.alignment");
        if (a != null) {
            alignment = a.value() instanceof Number n ? n.longValue() : -1;
            if (alignment <= 0 || alignment > 1 << 20 || Long.bitCount(alignment) != 1) {
                throw new LongbowException(name + ": general.alignment " + a.display() + " is not a power of two");
            }
        }

        record Info(String name, WeightType type, long[] shape, long offset, long bytes) {}
        List<Info> infos = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            String tname = string(in, "tensor name");
            int nDims = in.i32();
            if (nDims < 1 || nDims > MAX_DIMS) throw new LongbowException(name + ": tensor '" + tname + "' has " + nDims + " dimensions");
            long[] ne = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                ne[d] = in.i64();
                if (ne[d] <= 0 || ne[d] > (1L << 40)) throw new LongbowException(name + ": tensor '" + tname + "' has dimension " + ne[d]);
                elements = Math.multiplyExact(elements, ne[d]);
                if (elements > file.byteSize() * 2) throw new LongbowException(name + ": tensor '" + tname + "' is larger than the file");
            }
            int typeId = in.i32();
            WeightType type = WeightType.fromGgmlId(typeId);
            if (type == null) {
                String known = OTHER_GGML_TYPES.get(typeId);
                throw new LongbowException(name + ": tensor '" + tname + "' has " + (known != null
                        ? "type " + known + ", which Longbow does not support yet"
                        : typeId >= WeightType.EXTENSION_BASE && typeId < WeightType.EXTENSION_BASE + 100
                        ? "type id " + typeId + " from a newer Longbow compression extension (longbow.compression) than this reader knows"
                        : "unknown type id " + typeId));
            }
            if (type.sectioned() && nDims != 2) {
                throw new LongbowException(name + ": tensor '" + tname + "' of compressed type " + type + " must be a matrix, has " + nDims + " dimensions");
            }
            if ((type == WeightType.S24_F16 || type == WeightType.S24_I8) && ne[0] % 4 != 0) {
                throw new LongbowException(name + ": tensor '" + tname + "' row of " + ne[0] + " is not a multiple of 4, as 2:4 sparsity needs");
            }
            if (ne[0] % type.blockSize != 0) {
                throw new LongbowException(name + ": tensor '" + tname + "' row of " + ne[0] + " is not a multiple of the " + type + " block size");
            }
            long offset = in.i64();
            if (offset < 0 || offset % alignment != 0) throw new LongbowException(name + ": tensor '" + tname + "' has misaligned offset " + offset);
            long[] shape = new long[nDims];
            for (int d = 0; d < nDims; d++) shape[d] = ne[nDims - 1 - d];
            infos.add(new Info(tname, type, shape, offset, type.tensorBytes(elements / ne[0], ne[0])));
        }
        long dataStart = (in.pos + alignment - 1) / alignment * alignment;
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Info info : infos) {
            long start = dataStart + info.offset;
            if (start > file.byteSize() || info.bytes > file.byteSize() - start) {
                throw new LongbowException(name + ": truncated: tensor '" + info.name + "' needs bytes " + start + ".." + (start + info.bytes)
                        + " but the file has " + file.byteSize());
            }
            if (tensors.put(info.name, new Tensor(info.name, info.type, info.shape, file.asSlice(start, info.bytes))) != null) {
                throw new LongbowException(name + ": tensor '" + info.name + "' appears twice");
            }
        }
        return new Contents(version, metadata, tensors);
    }

    private static String string(Bytes in, String what) {
        long len = in.i64();
        if (len < 0 || len > in.remaining()) throw new LongbowException(in.file + ": " + what + " length " + Long.toUnsignedString(len) + " runs past the end of the file");
        return in.utf8(len, what);
    }

    private static Object value(Bytes in, GgufValue.Type type, String key, int depth) {
        return switch (type) {
            case UINT8 -> (long) (in.i8() & 0xFF);
            case INT8 -> (long) in.i8();
            case UINT16 -> (long) (in.i16() & 0xFFFF);
            case INT16 -> (long) in.i16();
            case UINT32 -> in.i32() & 0xFFFFFFFFL;
            case INT32 -> (long) in.i32();
            case UINT64, INT64 -> in.i64();
            case FLOAT32 -> (double) in.f32();
            case FLOAT64 -> in.f64();
            case BOOL -> {
                byte b = in.i8();
                if (b != 0 && b != 1) throw new LongbowException(in.file + ": metadata '" + key + "' has bool value " + b);
                yield b == 1;
            }
            case STRING -> string(in, "string value of '" + key + "'");
            case ARRAY -> {
                if (depth > 8) throw new LongbowException(in.file + ": metadata '" + key + "' nests arrays too deeply");
                int elemId = in.i32();
                GgufValue.Type elem = GgufValue.Type.of(elemId);
                if (elem == null) throw new LongbowException(in.file + ": metadata '" + key + "' has array of unknown type " + elemId);
                long count = in.i64();
                if (count < 0 || count > in.remaining() / elem.minBytes) {
                    throw new LongbowException(in.file + ": metadata '" + key + "' array count " + Long.toUnsignedString(count) + " runs past the end of the file");
                }
                if (count > MAX_ARRAY) throw new LongbowException(in.file + ": metadata '" + key + "' array count " + count + " is absurd");
                List<Object> items = new ArrayList<>((int) count);
                for (long i = 0; i < count; i++) {
                    Object v = value(in, elem, key, depth + 1);
                    items.add(elem == GgufValue.Type.ARRAY ? new GgufValue(GgufValue.Type.ARRAY, v) : v);
                }
                yield new GgufValue.Array(elem, items);
            }
        };
    }

    // ---- model configuration from metadata ----

    static ModelConfig config(Map<String, GgufValue> md, Map<String, Tensor> tensors, String name) {
        String arch = str(md, "general.architecture", name);
        if (!arch.equals("llama") && !arch.equals("qwen2") && !arch.equals("mistral")) {
            throw new LongbowException(name + ": architecture '" + arch + "' is not supported (llama, mistral, qwen2)");
        }
        int dim = num(md, arch + ".embedding_length", name);
        int heads = num(md, arch + ".attention.head_count", name);
        int kvHeads = md.containsKey(arch + ".attention.head_count_kv") ? num(md, arch + ".attention.head_count_kv", name) : heads;
        int headDim = md.containsKey(arch + ".attention.key_length") ? num(md, arch + ".attention.key_length", name)
                : (heads > 0 ? dim / heads : 0);
        Tensor emb = tensors.get("token_embd.weight");
        if (emb == null) throw new LongbowException(name + ": missing tensor token_embd.weight");
        int vocab = md.containsKey(arch + ".vocab_size") ? num(md, arch + ".vocab_size", name) : emb.rows();
        float eps = (float) real(md, arch + ".attention.layer_norm_rms_epsilon", 1e-5f, name);
        float theta = (float) real(md, arch + ".rope.freq_base", 10000f, name);
        int window = md.containsKey(arch + ".attention.sliding_window") ? num(md, arch + ".attention.sliding_window", name) : 0;
        RopeScaling scaling = ropeScaling(md, arch, name);
        // GGUF "llama" stores q/k rows permuted for interleaved pairs; "qwen2" keeps Hugging Face's order (NEOX).
        RotaryLayout layout = arch.equals("qwen2") ? RotaryLayout.HALF_SPLIT : RotaryLayout.INTERLEAVED;
        return new ModelConfig(arch, dim, num(md, arch + ".feed_forward_length", name), num(md, arch + ".block_count", name),
                heads, kvHeads, headDim, vocab, num(md, arch + ".context_length", name), eps, theta, layout, scaling, window);
    }

    /** llama.cpp's {arch}.rope.scaling.* keys; a scaling type we cannot honour is an error, not a silent NONE. */
    private static RopeScaling ropeScaling(Map<String, GgufValue> md, String arch, String name) {
        GgufValue type = md.get(arch + ".rope.scaling.type");
        if (type == null) return RopeScaling.NONE;
        String p = arch + ".rope.scaling.";
        try {
            return switch (String.valueOf(type.value())) {
                case "none" -> RopeScaling.NONE;
                case "linear" -> RopeScaling.linear((float) real(md, p + "factor", Double.NaN, name));
                case "yarn" -> RopeScaling.yarn((float) real(md, p + "factor", Double.NaN, name),
                        num(md, p + "original_context_length", name),
                        (float) real(md, p + "yarn_beta_fast", RopeScaling.DEFAULT_BETA_FAST, name),
                        (float) real(md, p + "yarn_beta_slow", RopeScaling.DEFAULT_BETA_SLOW, name), true, Float.NaN, 0, 0);
                default -> throw new LongbowException("rope scaling type '" + type.value() + "' is not supported in GGUF files yet");
            };
        } catch (LongbowException e) {
            throw e.getMessage().startsWith(name) ? e : new LongbowException(name + ": " + e.getMessage());
        }
    }

    private static String str(Map<String, GgufValue> md, String key, String name) {
        GgufValue v = md.get(key);
        if (v == null || v.type() != GgufValue.Type.STRING) throw new LongbowException(name + ": missing string metadata '" + key + "'");
        return v.asString();
    }

    /** A float-valued key, {@code dflt} when absent (NaN: required). */
    private static double real(Map<String, GgufValue> md, String key, double dflt, String name) {
        GgufValue v = md.get(key);
        if (v == null && !Double.isNaN(dflt)) return dflt;
        if (v == null || !(v.value() instanceof Number n)) throw new LongbowException(name + ": missing numeric metadata '" + key + "'");
        return n.doubleValue();
    }

    private static int num(Map<String, GgufValue> md, String key, String name) {
        GgufValue v = md.get(key);
        if (v == null || !(v.value() instanceof Number n)) throw new LongbowException(name + ": missing numeric metadata '" + key + "'");
        long x = n.longValue();
        if (x < 0 || x > Integer.MAX_VALUE) throw new LongbowException(name + ": metadata '" + key + "' = " + x + " is out of range");
        return (int) x;
    }

    static ModelFile open(java.nio.file.Path path, Arena arena, MemorySegment file) {
        String name = path.toString();
        Contents c = read(file, name);
        ModelConfig config = config(c.metadata(), c.tensors(), name);
        return new ModelFile(path, ModelFile.Format.GGUF, config, c.tensors(), c.metadata(), arena);
    }
}
