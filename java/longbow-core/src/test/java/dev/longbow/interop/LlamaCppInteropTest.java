package dev.longbow.interop;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.CacheType;
import dev.longbow.TestData;
import dev.longbow.api.GenerateRequest;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.convert.GgufConverter;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.tensor.WeightType;
import dev.longbow.tokenizer.Tokenizers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GGUF files written by {@code longbow convert} load in llama.cpp itself (de.kherud:llama bundles its native library)
 * and give the same greedy text as Longbow on the same file.
 */
class LlamaCppInteropTest {
    static final List<String> PROMPTS = List.of("Once upon a time", "The cat sat on the mat", "Tom and Lily went to the beach.",
            "One day, a big red truck", "\"Can I play?\" asked Ben.", "Mia had 3 apples");
    static final int N = 120;

    @TempDir
    static Path dir;

    @BeforeAll
    static void isolateNativeLibrary() throws Exception {
        // The binding clears llama*/jllama* entries from its extraction folder; give it one of its own.
        Path nativeDir = Files.createTempDirectory("longbow-llamacpp-");
        System.setProperty("de.kherud.llama.tmpdir", nativeDir.toString());
    }

    static Path convert(WeightType type) throws Exception {
        Path out = dir.resolve("stories260K-" + type + ".gguf");
        try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
            GgufConverter.convert(f, Tokenizers.forModel(f, null), type, out);
        }
        return out;
    }

    static String[] llamaCpp(Path gguf, CacheType kvType) {
        String[] out = new String[PROMPTS.size()];
        try (LlamaModel m = new LlamaModel(new ModelParameters().setModel(gguf.toString()).setCtxSize(512).setThreads(2)
                .setCacheTypeK(kvType).setCacheTypeV(kvType).disableLog())) {
            for (int i = 0; i < out.length; i++) {
                out[i] = m.complete(new InferenceParameters(PROMPTS.get(i)).setNPredict(N).setTemperature(0f).setCachePrompt(false));
            }
        }
        return out;
    }

    static String[] longbow(Path gguf) {
        String[] out = new String[PROMPTS.size()];
        try (Model m = Longbow.load(gguf, LoadOptions.DEFAULT.withThreads(2))) {
            for (int i = 0; i < out.length; i++) out[i] = m.generate(GenerateRequest.of(PROMPTS.get(i), N)).text();
        }
        return out;
    }

    @Test
    void f32GgufGivesIdenticalGreedyTextInLlamaCpp() throws Exception {
        Path gguf = convert(WeightType.F32);
        // llama.cpp's default F16 KV cache rounds keys and values; with an F32 cache both engines compute in FP32.
        assertArrayEquals(longbow(gguf), llamaCpp(gguf, CacheType.F32));
    }

    @Test
    void ggufConvertedFromHuggingFaceSafetensorsRunsIdenticallyInLlamaCpp() throws Exception {
        Path hf = dir.resolve("hf");
        try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
            dev.longbow.convert.HfWriter.write(f, WeightType.F32, hf);
        }
        Path gguf = dir.resolve("from-hf.gguf");
        try (ModelFile h = ModelLoader.open(hf)) {
            GgufConverter.convert(h, Tokenizers.load(TestData.root().resolve("models/tok512.bin")), WeightType.F32, gguf);
        }
        // The converter permuted q/k rows back to llama.cpp's layout: llama.cpp must continue as the original does.
        assertArrayEquals(longbow(TestData.bundledModel()), llamaCpp(gguf, CacheType.F32));
    }

    @Test
    void tokenizationAgreesWithLlamaCpp() throws Exception {
        Path gguf = convert(WeightType.F32);
        var ours = Tokenizers.load(gguf);
        try (LlamaModel m = new LlamaModel(new ModelParameters().setModel(gguf.toString()).disableLog())) {
            for (String s : List.of("Once upon a time", "Hello  world\nnew line", "It's 42 degrees!", "a\tb", "café")) {
                int[] theirs = m.encode(s);
                int[] mine = ours.encode(s, false);
                assertArrayEquals(theirs, mine, s);
            }
        }
    }

    @Test
    void f16GgufGivesIdenticalGreedyTextInLlamaCpp() throws Exception {
        Path gguf = convert(WeightType.F16);
        assertArrayEquals(longbow(gguf), llamaCpp(gguf, CacheType.F32));
    }

    @Test
    void blockQuantizedGgufRunsInLlamaCppAndTracksLongbow() throws Exception {
        for (WeightType type : List.of(WeightType.Q8_0, WeightType.Q4_0)) {
            Path gguf = convert(type);
            String[] ours = longbow(gguf), theirs = llamaCpp(gguf, CacheType.F32);
            // Both engines quantize activations to Q8_0 blocks and sum integers per block, but llama.cpp sums the
            // blocks in SIMD lanes with FMA, so float results differ in the last bits. This 260K-parameter model has
            // many near-tied logits, so greedy paths may part after a while: require a long shared beginning, on
            // average more than half of every text, and state the figures.
            long shared = 0, total = 0;
            for (int i = 0; i < ours.length; i++) {
                int common = commonPrefix(ours[i], theirs[i]);
                shared += common;
                total += Math.max(ours[i].length(), theirs[i].length());
                System.out.printf("%s %-34s common prefix %d of %d chars%n", type, '"' + PROMPTS.get(i) + '"', common,
                        Math.max(ours[i].length(), theirs[i].length()));
                assertTrue(theirs[i].length() > 100, type + ": llama.cpp produced too little: " + theirs[i]);
                assertTrue(common >= 40, type + " prompt " + PROMPTS.get(i) + ": diverged after " + common + " chars\nlongbow:   "
                        + ours[i] + "\nllama.cpp: " + theirs[i]);
            }
            assertTrue(shared * 2 > total, type + ": only " + shared + " of " + total + " characters shared");
        }
    }

    static int commonPrefix(String a, String b) {
        int n = Math.min(a.length(), b.length()), i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) i++;
        return i;
    }
}
