package dev.longbow.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.longbow.TestData;
import dev.longbow.util.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hugging Face tokenizers (Rust, through DJL) as the reference: the GPT-2, Qwen2 and Llama 3 vocabularies are written
 * as tokenizer.json with {@link HfTokenizerJson#write}, loaded there and here, and must give the same ids and the same
 * decoded text. Hugging Face always splits added tokens out of text, so ours runs with parseSpecial = true.
 */
class BpeHuggingFaceTest {
    record Pair(String name, BpeTokenizer fromFiles, BpeTokenizer fromJson, HuggingFaceTokenizer reference, Path json) {}

    @TempDir
    static Path dir;
    static final Map<String, Pair> PAIRS = new LinkedHashMap<>();

    static Pair pair(String name) throws IOException {
        Pair p = PAIRS.get(name);
        if (p != null) return p;
        Path source = switch (name) {
            case "gpt2" -> TestData.shared("vocab/gpt2");
            case "qwen2" -> TestData.shared("vocab/qwen2");
            case "llama3" -> TestData.shared("vocab/llama3/tokenizer.model");
            case "llama-spm" -> TestData.shared("vocab/ggml-vocab-llama-spm.gguf");
            default -> throw new IllegalArgumentException(name);
        };
        BpeTokenizer files = name.equals("llama-spm") ? SentencePieceStyle.fromLlamaSpmGguf(source) : (BpeTokenizer) Tokenizers.load(source);
        Path json = Files.createDirectories(dir.resolve(name)).resolve("tokenizer.json");
        HfTokenizerJson.write(json, files.spec());
        BpeTokenizer ours = HfTokenizerJson.load(json);
        HuggingFaceTokenizer ref = HuggingFaceTokenizer.builder().optTokenizerPath(json).optAddSpecialTokens(false).build();
        p = new Pair(name, files, ours, ref, json);
        PAIRS.put(name, p);
        return p;
    }

    @AfterAll
    static void close() {
        for (Pair p : PAIRS.values()) p.reference.close();
        PAIRS.clear();
    }

    static int[] reference(Pair p, String text) {
        return Arrays.stream(p.reference.encode(BpeTestTexts.forRust(text)).getIds()).mapToInt(Math::toIntExact).toArray();
    }

    /** Ids and decoded text for every text; returns a failure line per disagreement. */
    static List<String> compare(Pair p, List<String> texts) {
        List<String> failures = new ArrayList<>();
        for (String text : texts) {
            int[] theirs = reference(p, text);
            int[] mine = p.fromJson.encode(text, false, true);
            int[] mineFiles = p.fromFiles.encode(text, false, true);
            if (!Arrays.equals(theirs, mine) || !Arrays.equals(theirs, mineFiles)) {
                failures.add(p.name + " " + TokenizerTexts.show(text) + "\n  hf   " + Arrays.toString(theirs) + "\n  ours " + Arrays.toString(mine)
                        + (Arrays.equals(mine, mineFiles) ? "" : "\n  files " + Arrays.toString(mineFiles)));
                continue;
            }
            String decodedTheirs = p.reference.decode(Arrays.stream(theirs).asLongStream().toArray(), false);
            String decodedMine = p.fromJson.decode(mine);
            if (!decodedTheirs.equals(decodedMine)) {
                failures.add(p.name + " decode of " + TokenizerTexts.show(text) + "\n  hf   " + TokenizerTexts.show(decodedTheirs) + "\n  ours " + TokenizerTexts.show(decodedMine));
            }
        }
        return failures;
    }

    void fixedTexts(String name) throws IOException {
        Pair p = pair(name);
        List<String> texts = BpeTestTexts.all();
        List<String> failures = compare(p, texts);
        System.out.printf("%s: %d/%d texts identical to Hugging Face tokenizers (ids and decode)%n", name, texts.size() - failures.size(), texts.size());
        assertEquals("", String.join("\n", failures.subList(0, Math.min(20, failures.size()))), failures.size() + " of " + texts.size() + " differ");
        assertTrue(texts.size() >= 300);
    }

    void randomTexts(String name, int count) throws IOException {
        Pair p = pair(name);
        long clockSeed = System.nanoTime();
        for (long seed : new long[]{42, clockSeed}) {
            SplittableRandom r = new SplittableRandom(seed);
            List<String> texts = new ArrayList<>();
            for (int i = 0; i < count; i++) texts.add(BpeTestTexts.random(r));
            List<String> failures = compare(p, texts);
            System.out.printf("%s seed %d: %d/%d random strings identical to Hugging Face tokenizers%n", name, seed, count - failures.size(), count);
            assertEquals("", String.join("\n", failures.subList(0, Math.min(10, failures.size()))),
                    failures.size() + " of " + count + " random strings differ with seed " + seed);
        }
    }

    @Test
    void gpt2Texts() throws IOException {
        fixedTexts("gpt2");
    }

    @Test
    void qwen2Texts() throws IOException {
        fixedTexts("qwen2");
    }

    @Test
    void llama3Texts() throws IOException {
        fixedTexts("llama3");
    }

    @Test
    void sentencePieceStyleTexts() throws IOException {
        fixedTexts("llama-spm");
    }

    @Test
    void gpt2RandomStrings() throws IOException {
        randomTexts("gpt2", 2000);
    }

    @Test
    void qwen2RandomStrings() throws IOException {
        randomTexts("qwen2", 2000);
    }

    @Test
    void llama3RandomStrings() throws IOException {
        randomTexts("llama3", 2000);
    }

    @Test
    void sentencePieceStyleRandomStrings() throws IOException {
        randomTexts("llama-spm", 2000);
    }

    /**
     * Regenerates the committed goldens (src/test/resources/tokenizer/bpe-*.jsonl) from Hugging Face tokenizers:
     * run with -Dlongbow.writeGoldens=true (scripts/tokenizer-goldens/bpe-goldens.sh).
     */
    @Test
    void writeGoldens() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(Boolean.getBoolean("longbow.writeGoldens"), "skipped: set -Dlongbow.writeGoldens=true to regenerate goldens");
        Path out = TestData.root().resolve("java/longbow-core/src/test/resources/tokenizer");
        Files.createDirectories(out);
        for (String name : List.of("gpt2", "qwen2", "llama3")) {
            Pair p = pair(name);
            StringBuilder sb = new StringBuilder();
            for (String text : BpeTestTexts.all()) {
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("text", text);
                line.put("ids", reference(p, text));
                sb.append(Json.write(line)).append('\n');
            }
            Files.writeString(out.resolve("bpe-" + name + ".jsonl"), sb, StandardCharsets.UTF_8);
        }
    }
}
