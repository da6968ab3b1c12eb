package dev.longbow.format;

import dev.longbow.Logits;
import dev.longbow.TestData;
import dev.longbow.convert.GgufConverter;
import dev.longbow.convert.HfWriter;
import dev.longbow.model.RotaryLayout;
import dev.longbow.tensor.WeightType;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;
import dev.longbow.util.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The same model from every format, and through every conversion, gives the same logits. */
class ConversionTest {
    static final int[] TOKENS = {1, 403, 407, 261, 378, 11, 315, 303, 350, 277, 326, 265, 330, 401, 29, 421, 290, 275, 440, 293};
    @TempDir
    static Path dir;
    static float[][] reference;

    @BeforeAll
    static void referenceLogits() {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
            reference = Logits.of(f, TOKENS);
        }
    }

    @Test
    void ggufF32IsBitIdenticalToLlama2c() throws Exception {
        Path out = dir.resolve("f32.gguf");
        try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
            GgufConverter.convert(f, Tokenizers.forModel(f, null), WeightType.F32, out);
        }
        try (ModelFile g = ModelLoader.open(out)) {
            assertEquals(ModelFile.Format.GGUF, g.format());
            assertEquals(RotaryLayout.INTERLEAVED, g.config().rotaryLayout());
            float[][] logits = Logits.of(g, TOKENS);
            for (int i = 0; i < TOKENS.length; i++) assertArrayEquals(reference[i], logits[i], 0f, "position " + i);
            // The vocabulary travels in the metadata and encodes as the llama2.c tokenizer does.
            Tokenizer fromGguf = Tokenizers.forModel(g, null);
            Tokenizer fromBin = Tokenizers.load(TestData.root().resolve("models/tok512.bin"));
            for (String s : List.of("Once upon a time", "  two spaces", "Tom's dog, 42!", "")) {
                assertArrayEquals(fromBin.encode(s, true), fromGguf.encode(s, true), s);
            }
        }
    }

    @Test
    void huggingFaceLayoutGivesTheSameLogitsBothWays() throws Exception {
        Path hf = dir.resolve("hf");
        try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
            HfWriter.write(f, WeightType.F32, hf);
        }
        float[][] viaHf;
        try (ModelFile h = ModelLoader.open(hf)) {
            assertEquals(ModelFile.Format.SAFETENSORS, h.format());
            assertEquals(RotaryLayout.HALF_SPLIT, h.config().rotaryLayout());
            viaHf = Logits.of(h, TOKENS);
            // Back to GGUF: the converter permutes q/k rows to llama.cpp's interleaved layout.
            GgufConverter.convert(h, Tokenizers.load(TestData.root().resolve("models/tok512.bin")), WeightType.F32, dir.resolve("from-hf.gguf"));
        }
        // Permuting dimensions reorders float sums inside each attention score, so allow rounding, no more.
        assertTrue(Logits.maxAbsDiff(reference, viaHf) < 1e-4, "HF logits differ by " + Logits.maxAbsDiff(reference, viaHf));
        try (ModelFile g = ModelLoader.open(dir.resolve("from-hf.gguf"))) {
            float[][] back = Logits.of(g, TOKENS);
            for (int i = 0; i < TOKENS.length; i++) assertArrayEquals(reference[i], back[i], 0f, "round trip, position " + i);
        }
    }

    @Test
    void shardedSafetensorsLoadThroughTheIndex() throws Exception {
        Path hf = dir.resolve("hf-sharded");
        try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
            HfWriter.write(f, WeightType.BF16, hf);
        }
        Path single = hf.resolve("model.safetensors");
        Map<String, String> weightMap = new LinkedHashMap<>();
        List<dev.longbow.tensor.Tensor> a = new ArrayList<>(), b = new ArrayList<>();
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            var tensors = Safetensors.read(ModelLoader.map(single, arena), single.toString());
            int i = 0;
            for (var t : tensors.values()) {
                boolean first = i++ % 2 == 0;
                (first ? a : b).add(t);
                weightMap.put(t.name(), first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
            }
            Safetensors.write(hf.resolve("model-00001-of-00002.safetensors"), a);
            Safetensors.write(hf.resolve("model-00002-of-00002.safetensors"), b);
        }
        float[][] unsharded;
        try (ModelFile h = ModelLoader.open(hf)) {
            unsharded = Logits.of(h, TOKENS);
        }
        Files.delete(single);
        Files.writeString(hf.resolve("model.safetensors.index.json"), Json.write(Map.of("metadata", Map.of(), "weight_map", weightMap)));
        try (ModelFile h = ModelLoader.open(hf)) {
            float[][] sharded = Logits.of(h, TOKENS);
            for (int i = 0; i < TOKENS.length; i++) assertArrayEquals(unsharded[i], sharded[i], 0f);
        }
        // BF16 keeps 8 bits of mantissa: close to FP32, not equal.
        assertTrue(Logits.minCosine(reference, unsharded) > 0.995, "bf16 cosine " + Logits.minCosine(reference, unsharded));
    }

    @Test
    void quantizedGgufStaysCloseToFp32() throws Exception {
        for (WeightType type : List.of(WeightType.F16, WeightType.Q8_0, WeightType.Q4_0)) {
            Path out = dir.resolve(type + ".gguf");
            try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
                GgufConverter.convert(f, Tokenizers.forModel(f, null), type, out);
            }
            try (ModelFile g = ModelLoader.open(out)) {
                assertEquals(type, g.tensor("blk.0.attn_q.weight").type());
                assertEquals(WeightType.F32, g.tensor("blk.0.attn_norm.weight").type());
                double cos = Logits.minCosine(reference, Logits.of(g, TOKENS));
                double floor = switch (type) {
                    case F16 -> 0.99999;
                    case Q8_0 -> 0.999;
                    default -> 0.97;
                };
                assertTrue(cos > floor, type + " logits cosine " + cos + " <= " + floor);
            }
        }
    }

    @Test
    void kQuantRowsThatAreNotSuperBlocksFallBackToQ8_0() throws Exception {
        assertEquals(WeightType.Q4_K, GgufConverter.matrixType(WeightType.Q4_K, 4096));
        assertEquals(WeightType.Q8_0, GgufConverter.matrixType(WeightType.Q6_K, 288));
        assertEquals(WeightType.F16, GgufConverter.matrixType(WeightType.Q5_K, 100));
        assertEquals(WeightType.F16, GgufConverter.matrixType(WeightType.Q4_0, 100));
        // stories260K's rows are 64 or 172 values long: its matrices cannot be K-quants; those of 64 become Q8_0.
        Path out = dir.resolve("q4_k-fallback.gguf");
        try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
            GgufConverter.convert(f, Tokenizers.forModel(f, null), WeightType.Q4_K, out);
        }
        try (ModelFile g = ModelLoader.open(out)) {
            assertEquals(WeightType.Q8_0, g.tensor("blk.0.attn_q.weight").type());
            double cos = Logits.minCosine(reference, Logits.of(g, TOKENS));
            assertTrue(cos > 0.999, "logits cosine " + cos);
        }
    }

    @Test
    void kQuantGgufStaysCloseToFp32() throws Exception {
        // A random-weight model in the one bundled shape whose rows all fill 256-value super-blocks.
        Path f32 = dir.resolve("tiny-256-f32.gguf");
        dev.longbow.convert.Synth.write(dev.longbow.convert.Synth.shape("tiny-256"), WeightType.F32, 3, f32);
        int[] tokens = {1, 300, 5000, 12345, 31999, 260, 777, 4242};
        try (ModelFile f = ModelLoader.open(f32)) {
            float[][] exact = Logits.of(f, tokens);
            double previous = 1;
            for (WeightType type : List.of(WeightType.Q8_0, WeightType.Q6_K, WeightType.Q5_K, WeightType.Q4_K, WeightType.Q4_0)) {
                Path out = dir.resolve("tiny-256-" + type + ".gguf");
                GgufConverter.convert(f, Tokenizers.forModel(f, null), type, out);
                try (ModelFile g = ModelLoader.open(out)) {
                    for (String name : List.of("token_embd.weight", "blk.1.ffn_down.weight", "output.weight")) assertEquals(type, g.tensor(name).type(), name);
                    double cos = Logits.minCosine(exact, Logits.of(g, tokens));
                    System.out.printf("tiny-256 %s: logits cosine to F32 %.6f%n", type, cos);
                    // Measured: 0.99964, 0.99769, 0.99189, 0.97043, 0.95734. Each type must keep its place in that order.
                    double floor = switch (type) {
                        case Q8_0 -> 0.999;
                        case Q6_K -> 0.995;
                        case Q5_K -> 0.98;
                        case Q4_K -> 0.95;
                        default -> 0.93;
                    };
                    assertTrue(cos > floor, type + " logits cosine " + cos + " <= " + floor);
                    assertTrue(cos < previous, type + " should be less precise than the type before it");
                    previous = cos;
                }
            }
        }
    }
}
