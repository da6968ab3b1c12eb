package dev.longbow.format;

import dev.longbow.LongbowException;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.RopeScaling;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;
import dev.longbow.util.Json;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rope_scaling from config.json and {arch}.rope.scaling.* from GGUF metadata, for every method either carries. */
class RopeScalingConfigTest {
    private static RopeScaling hf(String ropeScaling, String extra) {
        String json = """
                {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "vocab_size": 100, "max_position_embeddings": 16384 %s,
                 "rope_scaling": %s}""".formatted(extra, ropeScaling);
        @SuppressWarnings("unchecked") Map<String, Object> cfg = (Map<String, Object>) Json.parse(json);
        return HuggingFace.config(cfg, "config.json").ropeScaling();
    }

    @Test
    void huggingFaceMethods() {
        assertEquals(RopeScaling.linear(2), hf("{\"type\": \"linear\", \"factor\": 2.0}", ""));
        assertEquals(RopeScaling.dynamic(4, 16384), hf("{\"type\": \"dynamic\", \"factor\": 4.0}", ""));

        RopeScaling yarn = hf("{\"rope_type\": \"yarn\", \"factor\": 4.0, \"original_max_position_embeddings\": 4096, \"beta_fast\": 16}", "");
        assertEquals(RopeScaling.Method.YARN, yarn.method());
        assertEquals(4096, yarn.originalContext());
        assertEquals(16f, yarn.betaFast());
        assertEquals(1f, yarn.betaSlow());
        assertTrue(yarn.truncate());
        assertEquals(RopeScaling.yarn(4, 4096, 16, 1, true, Float.NaN, 0, 0).table(16, 10000f, 0).inverseFrequencies()[7],
                yarn.table(16, 10000f, 0).inverseFrequencies()[7]);
        assertFalse(hf("{\"rope_type\": \"yarn\", \"factor\": 4.0, \"truncate\": false}", "").truncate());
        assertEquals(16384, hf("{\"rope_type\": \"yarn\", \"factor\": 4.0}", "").originalContext());

        // Phi-3 keeps original_max_position_embeddings beside rope_scaling and leaves factor to be derived.
        RopeScaling lr = hf("{\"type\": \"longrope\", \"short_factor\": [1, 1, 1, 1, 1, 1, 1, 1], \"long_factor\": [2, 2, 2, 2, 2, 2, 2, 2]}",
                ", \"original_max_position_embeddings\": 4096");
        assertEquals(RopeScaling.Method.LONGROPE, lr.method());
        assertEquals(4f, lr.factor());
        assertEquals(4096, lr.originalContext());
        assertArrayEquals(new float[]{2, 2, 2, 2, 2, 2, 2, 2}, lr.longFactor());
        assertEquals((float) Math.sqrt(1 + Math.log(4) / Math.log(4096)), lr.table(16, 10000f, 0).attentionFactor());
    }

    @Test
    void huggingFaceErrorsNameTheFile() {
        LongbowException e = assertThrows(LongbowException.class, () -> hf("{\"type\": \"su\", \"factor\": 2.0}", ""));
        assertTrue(e.getMessage().startsWith("config.json: ") && e.getMessage().contains("'su'"), e.getMessage());
        e = assertThrows(LongbowException.class, () -> hf("{\"type\": \"longrope\", \"short_factor\": [1, \"x\"], \"long_factor\": [1]}", ""));
        assertTrue(e.getMessage().startsWith("config.json: "), e.getMessage());
        e = assertThrows(LongbowException.class, () -> hf("{\"type\": \"yarn\", \"factor\": -1.0}", ""));
        assertTrue(e.getMessage().startsWith("config.json: ") && e.getMessage().contains("positive"), e.getMessage());
    }

    private static ModelConfig gguf(Map<String, GgufValue> scaling) {
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("general.architecture", GgufValue.string("llama"));
        md.put("llama.embedding_length", GgufValue.u32(64));
        md.put("llama.attention.head_count", GgufValue.u32(4));
        md.put("llama.feed_forward_length", GgufValue.u32(128));
        md.put("llama.block_count", GgufValue.u32(2));
        md.put("llama.context_length", GgufValue.u32(32768));
        md.putAll(scaling);
        Tensor emb = new Tensor("token_embd.weight", WeightType.F32, new long[]{64, 100}, MemorySegment.ofArray(new float[6400]));
        return Gguf.config(md, Map.of("token_embd.weight", emb), "m.gguf");
    }

    @Test
    void ggufYarnAndRefusals() {
        assertEquals(RopeScaling.NONE, gguf(Map.of()).ropeScaling());
        assertEquals(RopeScaling.NONE, gguf(Map.of("llama.rope.scaling.type", GgufValue.string("none"))).ropeScaling());
        assertEquals(RopeScaling.linear(2), gguf(Map.of("llama.rope.scaling.type", GgufValue.string("linear"),
                "llama.rope.scaling.factor", GgufValue.f32(2))).ropeScaling());
        RopeScaling yarn = gguf(Map.of("llama.rope.scaling.type", GgufValue.string("yarn"), "llama.rope.scaling.factor", GgufValue.f32(4),
                "llama.rope.scaling.original_context_length", GgufValue.u32(8192), "llama.rope.scaling.yarn_beta_fast", GgufValue.f32(24))).ropeScaling();
        assertEquals(RopeScaling.yarn(4, 8192, 24, 1, true, Float.NaN, 0, 0), yarn);

        LongbowException e = assertThrows(LongbowException.class, () -> gguf(Map.of("llama.rope.scaling.type", GgufValue.string("yarn"),
                "llama.rope.scaling.factor", GgufValue.f32(4))));
        assertTrue(e.getMessage().startsWith("m.gguf: ") && e.getMessage().contains("original_context_length"), e.getMessage());
        e = assertThrows(LongbowException.class, () -> gguf(Map.of("llama.rope.scaling.type", GgufValue.string("longrope"))));
        assertEquals("m.gguf: rope scaling type 'longrope' is not supported in GGUF files yet", e.getMessage());
    }
}
