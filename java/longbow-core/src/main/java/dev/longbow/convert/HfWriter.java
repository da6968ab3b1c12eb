package dev.longbow.convert;

import dev.longbow.format.HuggingFace;
import dev.longbow.format.ModelFile;
import dev.longbow.format.Safetensors;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.RotaryLayout;
import dev.longbow.tensor.Quantizer;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;
import dev.longbow.util.Json;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a model as a Hugging Face folder (config.json + model.safetensors) in transformers' conventions:
 * half-split q/k rows, HF tensor names. Weights are dequantized to {@code type} (F32, F16 or BF16).
 */
public final class HfWriter {
    private HfWriter() {}

    public static void write(ModelFile in, WeightType type, Path dir) throws IOException {
        ModelConfig c = in.config();
        Files.createDirectories(dir);
        boolean permute = c.rotaryLayout() == RotaryLayout.INTERLEAVED;
        List<Tensor> out = new ArrayList<>();
        for (Tensor t : in.tensors().values()) {
            if (t.name().equals("rope_freqs.weight")) continue;
            float[] v = t.toFloatArray();
            boolean qk = t.name().contains("attn_q.") || t.name().contains("attn_k.");
            if (permute && qk) {
                int rows = t.shape().length == 2 ? t.rows() : (int) t.elementCount();
                v = RotaryPermutation.permuteRows(v, rows, (int) (t.elementCount() / rows), c.headDim(), RotaryLayout.INTERLEAVED);
            }
            out.add(new Tensor(HuggingFace.hfName(t.name()), type, t.shape(), MemorySegment.ofArray(Quantizer.encode(type, v))));
        }
        Safetensors.write(dir.resolve("model.safetensors"), out);
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("architectures", List.of(c.architecture().equals("qwen2") ? "Qwen2ForCausalLM" : "LlamaForCausalLM"));
        cfg.put("model_type", c.architecture().equals("qwen2") ? "qwen2" : c.slidingWindow() > 0 ? "mistral" : "llama");
        cfg.put("hidden_size", c.dim());
        cfg.put("intermediate_size", c.hiddenDim());
        cfg.put("num_hidden_layers", c.layers());
        cfg.put("num_attention_heads", c.heads());
        cfg.put("num_key_value_heads", c.kvHeads());
        cfg.put("head_dim", c.headDim());
        cfg.put("vocab_size", c.vocabSize());
        cfg.put("max_position_embeddings", c.contextLength());
        cfg.put("rms_norm_eps", (double) c.normEps());
        cfg.put("rope_theta", (double) c.ropeTheta());
        cfg.put("tie_word_embeddings", !in.tensors().containsKey("output.weight"));
        if (c.slidingWindow() > 0) cfg.put("sliding_window", c.slidingWindow());
        cfg.put("torch_dtype", switch (type) {
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> "float32";
        });
        Files.writeString(dir.resolve("config.json"), Json.write(cfg) + "\n");
    }
}
