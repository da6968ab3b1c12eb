package dev.longbow.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.longbow.TestData;
import dev.longbow.util.Json;
import org.junit.jupiter.api.AfterAll;
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
        HuggingFaceTokenizer ref = HuggingFaceTokenizer.builder().optTokenizerPath(json).optAddSpecialTokens(false).optTruncation(false).build();
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

    /** Ids, decoded text and streamed text for every text; returns a failure line per disagreement. */
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
                continue;
            }
            // Streaming gives the same text, where no broken byte sequence makes the replacement count differ.
            if (decodedMine.indexOf('\uFFFD') < 0) {
                TokenDecoder d = p.fromJson.decoder();
                StringBuilder streamed = new StringBuilder();
                for (int id : mine) streamed.append(d.next(id));
                streamed.append(d.flush());
                if (!streamed.toString().equals(decodedMine)) {
                    failures.add(p.name + " streaming decode of " + TokenizerTexts.show(text) + "\n  whole    " + TokenizerTexts.show(decodedMine) + "\n  streamed " + TokenizerTexts.show(streamed.toString()));
                }
            }
        }
        return failures;
    }

    void fixedTexts(String name) throws IOException {
        Pair p = pair(name);
        List<String> texts = BpeTestTexts.all();
        List<String> failures = compare(p, texts);
        System.out.printf("%s: %d/%d texts identical to Hugging Face tokenizers (ids, decode, streaming)%n", name, texts.size() - failures.size(), texts.size());
        assertEquals("", String.join("\n", failures.subList(0, Math.min(20, failures.size()))), failures.size() + " of " + texts.size() + " differ");
        assertTrue(texts.size() >= 300);
    }

    void randomTexts(String name, int count) throws IOException {
        Pair p = pair(name);
        // Fixed seeds keep the suite deterministic; -Dlongbow.randomSeed=N adds one more to explore. Known divergence a
        // new seed may hit: NFC (Qwen2) reorders combining marks by the Unicode version's tables, and Java 25 knows
        // marks (U+089F, Unicode 14) that the Rust normalizer inside tokenizers treats as unassigned.
        Long extra = Long.getLong("longbow.randomSeed");
        for (long seed : extra == null ? new long[]{42, 20261123} : new long[]{42, 20261123, extra}) {
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
     * The less common components (prefix spaces, Digits, Split behaviours and inversion, Metaspace schemes, other
     * normalisers and decoders, added tokens that strip whitespace), each in a variant of a real tokenizer.json, against
     * Hugging Face on the edge cases and random strings.
     */
    @Test
    @SuppressWarnings("unchecked")
    void componentVariants() throws IOException {
        Map<String, Object> gpt2 = (Map<String, Object>) Json.parse(Files.readString(pair("gpt2").json));
        Map<String, Object> spm = (Map<String, Object>) Json.parse(Files.readString(pair("llama-spm").json));
        Map<String, Object> byteLevelDecoder = Map.of("type", "ByteLevel", "add_prefix_space", true, "trim_offsets", true, "use_regex", true);
        Map<String, Object> byteLevelNoRegex = Map.of("type", "ByteLevel", "add_prefix_space", false, "trim_offsets", true, "use_regex", false);
        Map<String, Map<String, Object>> variants = new LinkedHashMap<>();
        variants.put("gpt2 ByteLevel(add_prefix_space)", variant(gpt2, null,
                Map.of("type", "ByteLevel", "add_prefix_space", true, "trim_offsets", true, "use_regex", true), byteLevelDecoder, null));
        variants.put("gpt2 Digits+ByteLevel, NFKC", variant(gpt2, Map.of("type", "NFKC"),
                Map.of("type", "Sequence", "pretokenizers", List.of(Map.of("type", "Digits", "individual_digits", true),
                        Map.of("type", "ByteLevel", "add_prefix_space", false, "trim_offsets", true, "use_regex", true))), byteLevelDecoder, null));
        variants.put("gpt2 Split behaviours, NFD+Replace", variant(gpt2,
                Map.of("type", "Sequence", "normalizers", List.of(Map.of("type", "NFD"), Map.of("type", "Replace", "pattern", Map.of("Regex", "[0-9]"), "content", "#"))),
                Map.of("type", "Sequence", "pretokenizers", List.of(
                        Map.of("type", "Split", "pattern", Map.of("Regex", "\\p{P}"), "behavior", "Removed", "invert", false),
                        Map.of("type", "Split", "pattern", Map.of("String", " "), "behavior", "MergedWithPrevious", "invert", false),
                        Map.of("type", "Split", "pattern", Map.of("Regex", "[a-z]+"), "behavior", "Contiguous", "invert", true),
                        Map.of("type", "Digits", "individual_digits", false), byteLevelNoRegex)), byteLevelDecoder, null));
        variants.put("gpt2 MergedWithNext, added tokens with lstrip/rstrip", variant(gpt2, null,
                Map.of("type", "Sequence", "pretokenizers", List.of(
                        Map.of("type", "Split", "pattern", Map.of("String", "e"), "behavior", "MergedWithNext", "invert", false), byteLevelNoRegex)),
                byteLevelDecoder, List.of(added(50257, "<mask>", false, true, false), added(50258, "[SEP]", true, false, true), added(50259, "zq9", false, false, false))));
        variants.put("spm Metaspace(first, split)", variant(spm, null,
                Map.of("type", "Metaspace", "replacement", "\u2581", "prepend_scheme", "first", "split", true),
                Map.of("type", "Metaspace", "replacement", "\u2581", "prepend_scheme", "first", "split", true), null));
        variants.put("spm Metaspace(always, no split), ByteFallback+Metaspace decoder", variant(spm, null,
                Map.of("type", "Metaspace", "replacement", "\u2581", "prepend_scheme", "always", "split", false),
                Map.of("type", "Sequence", "decoders", List.of(Map.of("type", "ByteFallback"),
                        Map.of("type", "Metaspace", "replacement", "\u2581", "prepend_scheme", "always", "split", false))), null));
        variants.put("spm no decoder", variant(spm, null, null, null, null));
        List<String> texts = new ArrayList<>(BpeTestTexts.edgeCases());
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 500; i++) texts.add(BpeTestTexts.random(r));
        texts.addAll(List.of("x <mask> y", "x<mask>y", "a [SEP]  b", "a\t<mask>\n[SEP]\n b", "zq9 top zq9zq9", "<mask>", " [SEP] "));
        List<String> failures = new ArrayList<>();
        int i = 0;
        for (var e : variants.entrySet()) {
            Path json = Files.createDirectories(dir.resolve("variant" + i++)).resolve("tokenizer.json");
            Files.writeString(json, Json.write(e.getValue()));
            BpeTokenizer ours = HfTokenizerJson.load(json);
            try (HuggingFaceTokenizer ref = HuggingFaceTokenizer.builder().optTokenizerPath(json).optAddSpecialTokens(false).optTruncation(false).build()) {
                Pair p = new Pair(e.getKey(), ours, ours, ref, json);
                List<String> f = compare(p, texts);
                System.out.printf("%s: %d/%d texts identical to Hugging Face tokenizers%n", e.getKey(), texts.size() - f.size(), texts.size());
                failures.addAll(f);
            }
        }
        assertEquals("", String.join("\n", failures.subList(0, Math.min(20, failures.size()))), failures.size() + " differ");
    }

    static Map<String, Object> added(int id, String content, boolean special, boolean lstrip, boolean rstrip) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("id", id);
        t.put("content", content);
        t.put("single_word", false);
        t.put("lstrip", lstrip);
        t.put("rstrip", rstrip);
        t.put("normalized", false);
        t.put("special", special);
        return t;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> variant(Map<String, Object> base, Object normalizer, Object preTokenizer, Object decoder, List<Object> extraAdded) {
        Map<String, Object> v = new LinkedHashMap<>(base);
        v.put("normalizer", normalizer);
        v.put("pre_tokenizer", preTokenizer);
        v.put("decoder", decoder);
        v.put("post_processor", null);
        if (extraAdded != null) {
            List<Object> added = new ArrayList<>((List<Object>) base.get("added_tokens"));
            added.addAll(extraAdded);
            v.put("added_tokens", added);
        }
        return v;
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
