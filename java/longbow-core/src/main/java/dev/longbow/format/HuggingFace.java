package dev.longbow.format;

import dev.longbow.LongbowException;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.RopeScaling;
import dev.longbow.model.RotaryLayout;
import dev.longbow.tensor.Tensor;
import dev.longbow.util.Json;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A Hugging Face model folder: config.json plus model.safetensors, or shards listed by model.safetensors.index.json.
 * Tensors are renamed to GGUF's names; rows stay in transformers' order, so the model runs with half-split RoPE.
 */
public final class HuggingFace {
    private HuggingFace() {}

    static boolean isModelFolder(Path dir) {
        return Files.isRegularFile(dir.resolve("config.json"))
                && (Files.isRegularFile(dir.resolve("model.safetensors")) || Files.isRegularFile(dir.resolve("model.safetensors.index.json")));
    }

    static ModelFile open(Path dir, Arena arena) throws IOException {
        Map<String, Object> cfg = Json.parseObject(Files.readString(dir.resolve("config.json")), dir.resolve("config.json").toString());
        List<Path> shards = new ArrayList<>();
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index)) {
            Map<String, Object> idx = Json.parseObject(Files.readString(index), index.toString());
            if (!(idx.get("weight_map") instanceof Map<?, ?> weightMap)) throw new LongbowException(index + ": no weight_map");
            TreeSet<String> files = new TreeSet<>();
            for (Object f : weightMap.values()) {
                String s = String.valueOf(f);
                if (s.contains("/") || s.contains("\\") || s.startsWith(".")) throw new LongbowException(index + ": shard name '" + s + "' leaves the folder");
                files.add(s);
            }
            for (String f : files) shards.add(dir.resolve(f));
        } else {
            shards.add(dir.resolve("model.safetensors"));
        }
        Map<String, Tensor> hf = new LinkedHashMap<>();
        for (Path shard : shards) {
            if (!Files.isRegularFile(shard)) throw new LongbowException(shard + ": shard listed in the index is missing");
            hf.putAll(Safetensors.read(ModelLoader.map(shard, arena), shard.toString()));
        }
        ModelConfig config = config(cfg, dir.resolve("config.json").toString());
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Tensor t : hf.values()) {
            String g = ggufName(t.name());
            if (g != null) tensors.put(g, new Tensor(g, t.type(), t.shape(), t.data()));
        }
        boolean tied = Boolean.TRUE.equals(cfg.get("tie_word_embeddings"));
        if (tied) tensors.remove("output.weight");
        return new ModelFile(dir, ModelFile.Format.SAFETENSORS, config, tensors, Map.of(), arena);
    }

    /** transformers' parameter name to GGUF's; null for tensors the forward pass does not use (e.g. rotary caches). */
    static String ggufName(String hf) {
        if (hf.equals("model.embed_tokens.weight")) return "token_embd.weight";
        if (hf.equals("model.norm.weight")) return "output_norm.weight";
        if (hf.equals("lm_head.weight")) return "output.weight";
        if (!hf.startsWith("model.layers.")) return null;
        String rest = hf.substring("model.layers.".length());
        int dot = rest.indexOf('.');
        if (dot < 0) return null;
        String layer = rest.substring(0, dot);
        String part = switch (rest.substring(dot + 1)) {
            case "input_layernorm.weight" -> "attn_norm.weight";
            case "self_attn.q_proj.weight" -> "attn_q.weight";
            case "self_attn.k_proj.weight" -> "attn_k.weight";
            case "self_attn.v_proj.weight" -> "attn_v.weight";
            case "self_attn.o_proj.weight" -> "attn_output.weight";
            case "self_attn.q_proj.bias" -> "attn_q.bias";
            case "self_attn.k_proj.bias" -> "attn_k.bias";
            case "self_attn.v_proj.bias" -> "attn_v.bias";
            case "post_attention_layernorm.weight" -> "ffn_norm.weight";
            case "mlp.gate_proj.weight" -> "ffn_gate.weight";
            case "mlp.up_proj.weight" -> "ffn_up.weight";
            case "mlp.down_proj.weight" -> "ffn_down.weight";
            default -> null;
        };
        return part == null ? null : "blk." + layer + "." + part;
    }

    /** The inverse of {@link #ggufName}, for writing Hugging Face checkpoints. */
    public static String hfName(String gguf) {
        switch (gguf) {
            case "token_embd.weight": return "model.embed_tokens.weight";
            case "output_norm.weight": return "model.norm.weight";
            case "output.weight": return "lm_head.weight";
            default:
        }
        String[] p = gguf.split("\\.", 3);
        String part = switch (p[2]) {
            case "attn_norm.weight" -> "input_layernorm.weight";
            case "attn_q.weight" -> "self_attn.q_proj.weight";
            case "attn_k.weight" -> "self_attn.k_proj.weight";
            case "attn_v.weight" -> "self_attn.v_proj.weight";
            case "attn_output.weight" -> "self_attn.o_proj.weight";
            case "attn_q.bias" -> "self_attn.q_proj.bias";
            case "attn_k.bias" -> "self_attn.k_proj.bias";
            case "attn_v.bias" -> "self_attn.v_proj.bias";
            case "ffn_norm.weight" -> "post_attention_layernorm.weight";
            case "ffn_gate.weight" -> "mlp.gate_proj.weight";
            case "ffn_up.weight" -> "mlp.up_proj.weight";
            case "ffn_down.weight" -> "mlp.down_proj.weight";
            default -> throw new IllegalArgumentException(gguf);
        };
        return "model.layers." + p[1] + "." + part;
    }

    static ModelConfig config(Map<String, Object> cfg, String name) {
        try {
            String type = Json.getString(cfg, "model_type");
            if (type == null) throw new LongbowException(name + ": no model_type");
            String arch = switch (type) {
                case "llama", "mistral" -> "llama";
                case "qwen2" -> "qwen2";
                default -> throw new LongbowException(name + ": model_type '" + type + "' is not supported (llama, mistral, qwen2)");
            };
            int dim = req(cfg, "hidden_size", name);
            int heads = req(cfg, "num_attention_heads", name);
            Long kv = Json.getLong(cfg, "num_key_value_heads");
            Long hd = Json.getLong(cfg, "head_dim");
            Double eps = Json.getDouble(cfg, "rms_norm_eps");
            Double theta = Json.getDouble(cfg, "rope_theta");
            int window = 0;
            Long sw = Json.getLong(cfg, "sliding_window");
            boolean useWindow = !type.equals("qwen2") || Boolean.TRUE.equals(cfg.get("use_sliding_window"));
            if (sw != null && useWindow) window = (int) Math.min(Integer.MAX_VALUE, sw);
            return new ModelConfig(arch, dim, req(cfg, "intermediate_size", name), req(cfg, "num_hidden_layers", name), heads,
                    kv == null ? heads : positiveInt(kv, "num_key_value_heads", name), hd == null ? dim / Math.max(1, heads) : positiveInt(hd, "head_dim", name),
                    req(cfg, "vocab_size", name), req(cfg, "max_position_embeddings", name),
                    eps == null ? 1e-6f : (float) (double) eps, theta == null ? 10000f : (float) (double) theta,
                    RotaryLayout.HALF_SPLIT, ropeScaling(cfg, name), window);
        } catch (LongbowException e) {
            throw e.getMessage().startsWith(name) ? e : new LongbowException(name + ": " + e.getMessage());
        }
    }

    /**
     * rope_scaling as transformers reads it ("rope_type", or the older "type"). The trained context is
     * original_max_position_embeddings, inside rope_scaling or (Phi-3) beside it, else max_position_embeddings.
     */
    private static RopeScaling ropeScaling(Map<String, Object> cfg, String name) {
        if (!(cfg.get("rope_scaling") instanceof Map<?, ?> raw)) return RopeScaling.NONE;
        @SuppressWarnings("unchecked") Map<String, Object> rs = (Map<String, Object>) raw;
        String t = Json.getString(rs, "rope_type");
        if (t == null) t = Json.getString(rs, "type");
        int maxPositions = req(cfg, "max_position_embeddings", name);
        Double original = Json.getDouble(rs, "original_max_position_embeddings");
        if (original == null) original = Json.getDouble(cfg, "original_max_position_embeddings");
        int trained = original == null ? maxPositions : checkedContext(original, name);
        return switch (String.valueOf(t)) {
            case "default" -> RopeScaling.NONE;
            case "linear" -> RopeScaling.linear((float) ropeNumber(rs, "factor", name));
            case "dynamic" -> RopeScaling.dynamic((float) ropeNumber(rs, "factor", name), maxPositions);
            case "llama3" -> RopeScaling.llama3((float) ropeNumber(rs, "factor", name),
                    (float) ropeNumber(rs, "low_freq_factor", name), (float) ropeNumber(rs, "high_freq_factor", name),
                    checkedContext(ropeNumber(rs, "original_max_position_embeddings", name), name));
            case "yarn" -> {
                Double factor = Json.getDouble(rs, "factor");
                float f = factor != null ? (float) (double) factor : (float) maxPositions / trained;
                yield RopeScaling.yarn(f, trained, optional(rs, "beta_fast", RopeScaling.DEFAULT_BETA_FAST),
                        optional(rs, "beta_slow", RopeScaling.DEFAULT_BETA_SLOW), !Boolean.FALSE.equals(rs.get("truncate")),
                        optional(rs, "attention_factor", Float.NaN), optional(rs, "mscale", 0), optional(rs, "mscale_all_dim", 0));
            }
            case "longrope" -> {
                Double factor = Json.getDouble(rs, "factor");
                float f = factor != null ? (float) (double) factor : (float) maxPositions / trained;
                yield RopeScaling.longrope(numbers(rs, "short_factor", name), numbers(rs, "long_factor", name), f, trained,
                        optional(rs, "attention_factor", Float.NaN));
            }
            default -> throw new LongbowException(name + ": rope_scaling type '" + t + "' is not supported yet");
        };
    }

    private static int checkedContext(double v, String name) {
        if (!(v >= 1) || v > Integer.MAX_VALUE) throw new LongbowException(name + ": original_max_position_embeddings = " + v + " is out of range");
        return (int) v;
    }

    /** HF treats a missing or null (and, via "or", a zero) beta as its default. */
    private static float optional(Map<String, Object> rs, String key, float dflt) {
        Double v = Json.getDouble(rs, key);
        return v == null || v == 0 ? dflt : (float) (double) v;
    }

    private static float[] numbers(Map<String, Object> rs, String key, String name) {
        if (!(rs.get(key) instanceof java.util.List<?> list)) throw new LongbowException(name + ": rope_scaling has no list '" + key + "'");
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Number n)) throw new LongbowException(name + ": rope_scaling '" + key + "' holds a non-number");
            out[i] = n.floatValue();
        }
        return out;
    }

    private static double ropeNumber(Map<String, Object> rs, String key, String name) {
        Double v = Json.getDouble(rs, key);
        if (v == null) throw new LongbowException(name + ": rope_scaling has no '" + key + "'");
        return v;
    }

    private static int positiveInt(long v, String key, String name) {
        if (v <= 0 || v > Integer.MAX_VALUE) throw new LongbowException(name + ": '" + key + "' = " + v + " is out of range");
        return (int) v;
    }

    private static int req(Map<String, Object> cfg, String key, String name) {
        Long v = Json.getLong(cfg, key);
        if (v == null) throw new LongbowException(name + ": missing '" + key + "'");
        if (v <= 0 || v > Integer.MAX_VALUE) throw new LongbowException(name + ": '" + key + "' = " + v + " is out of range");
        return (int) (long) v;
    }
}
