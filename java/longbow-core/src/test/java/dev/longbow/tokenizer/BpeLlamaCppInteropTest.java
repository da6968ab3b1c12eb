package dev.longbow.tokenizer;

import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import dev.longbow.convert.Synth;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.RopeScaling;
import dev.longbow.model.RotaryLayout;
import dev.longbow.tensor.WeightType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Our GGUF tokenizer metadata in llama.cpp itself (de.kherud:llama bundles it): a tiny random-weight llama model
 * carrying the GPT-2, Qwen2 or Llama 3 vocabulary as {@code tokenizer.ggml.model = gpt2}, loaded by llama.cpp, must
 * tokenize every test text (and 1000 random strings) as we do, and reading the metadata back must give our tokenizer again.
 */
class BpeLlamaCppInteropTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void isolateNativeLibrary() throws IOException {
        // The binding clears llama*/jllama* entries from its extraction folder; give it one of its own.
        System.setProperty("de.kherud.llama.tmpdir", Files.createTempDirectory("longbow-llamacpp-").toString());
    }

    static Path tinyModel(String name, BpeTokenizer tok) throws IOException {
        ModelConfig c = new ModelConfig("llama", 64, 128, 1, 4, 4, 16, tok.vocabSize(), 256, 1e-5f, 10000f,
                RotaryLayout.INTERLEAVED, RopeScaling.NONE, 0);
        Path out = dir.resolve(name + ".gguf");
        Synth.write(c, WeightType.F32, 1, out, tok);
        return out;
    }

    /** llama.cpp's encode parses special tokens and adds no BOS; texts go to it as valid UTF-8. */
    void compare(String name, BpeTokenizer tok, boolean nfc) throws IOException {
        Path gguf = tinyModel(name, tok);
        BpeTokenizer back = (BpeTokenizer) Tokenizers.load(gguf);
        List<String> texts = new ArrayList<>();
        List<String> all = new ArrayList<>(BpeTestTexts.all());
        java.util.SplittableRandom r = new java.util.SplittableRandom(11);
        for (int i = 0; i < 1000; i++) all.add(BpeTestTexts.random(r));
        for (String t : all) {
            String s = BpeTestTexts.forRust(t);
            // llama.cpp has no normaliser: Qwen2's NFC step is ours alone, so both get NFC text.
            texts.add(nfc ? java.text.Normalizer.normalize(s, java.text.Normalizer.Form.NFC) : s);
        }
        List<String> failures = new ArrayList<>();
        int same = 0;
        try (LlamaModel m = new LlamaModel(new ModelParameters().setModel(gguf.toString()).setCtxSize(256).setThreads(1).disableLog())) {
            for (String text : texts) {
                int[] theirs = m.encode(text);
                int[] mine = tok.encode(text, false, true);
                assertArrayEquals(mine, back.encode(text, false, true), "read back from GGUF: " + TokenizerTexts.show(text));
                if (Arrays.equals(theirs, mine)) same++;
                else failures.add(TokenizerTexts.show(text) + "\n  llama.cpp " + Arrays.toString(theirs) + "\n  ours      " + Arrays.toString(mine));
            }
        }
        System.out.printf("%s: %d/%d texts identical to llama.cpp (GGUF metadata written by us)%n", name, same, texts.size());
        assertEquals("", String.join("\n", failures.subList(0, Math.min(15, failures.size()))), failures.size() + " of " + texts.size() + " differ");
        assertTrue(texts.size() >= 1300);
    }

    @Test
    void gpt2() throws IOException {
        compare("gpt2", BpeTokenizerTest.load("gpt2"), false);
    }

    @Test
    void qwen2() throws IOException {
        compare("qwen2", BpeTokenizerTest.load("qwen2"), true);
    }

    @Test
    void llama3() throws IOException {
        compare("llama3", BpeTokenizerTest.load("llama3"), false);
    }
}
