package dev.longbow.tokenizer;

import dev.longbow.TestData;
import dev.longbow.util.Json;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BpeTokenizerTest {
    static final Map<String, BpeTokenizer> LOADED = new HashMap<>();

    static synchronized BpeTokenizer load(String name) {
        return LOADED.computeIfAbsent(name, n -> (BpeTokenizer) Tokenizers.load(TestData.shared(switch (n) {
            case "gpt2" -> "vocab/gpt2";
            case "qwen2" -> "vocab/qwen2";
            case "llama3" -> "vocab/llama3/tokenizer.model";
            default -> throw new IllegalArgumentException(n);
        })));
    }

    /** The committed goldens from Hugging Face tokenizers (scripts/tokenizer-goldens/bpe-goldens.sh). */
    @Test
    void committedHuggingFaceGoldens() throws IOException {
        for (String name : List.of("gpt2", "qwen2", "llama3")) {
            BpeTokenizer tok = load(name);
            List<String> lines = Files.readAllLines(TestData.root().resolve("java/longbow-core/src/test/resources/tokenizer/bpe-" + name + ".jsonl"), StandardCharsets.UTF_8);
            List<String> failures = new ArrayList<>();
            for (String line : lines) {
                Map<String, Object> g = Json.parseObject(line, "golden");
                String text = (String) g.get("text");
                int[] expected = ((List<?>) g.get("ids")).stream().mapToInt(o -> ((Number) o).intValue()).toArray();
                int[] got = tok.encode(text, false, true);
                if (!Arrays.equals(expected, got)) failures.add(TokenizerTexts.show(text) + "\n  expected " + Arrays.toString(expected) + "\n  got      " + Arrays.toString(got));
            }
            System.out.printf("%s: %d/%d golden texts identical%n", name, lines.size() - failures.size(), lines.size());
            assertEquals("", String.join("\n", failures.subList(0, Math.min(10, failures.size()))), name + ": " + failures.size() + " of " + lines.size());
            assertTrue(lines.size() >= 300, name + " goldens have only " + lines.size() + " lines");
        }
    }

    /** Streaming never emits half a character; the pieces add up to decode(ids), which gives back the text. */
    @Test
    void decodingRoundTripsAndStreamsWholeCharacters() throws IOException {
        List<String> texts = new ArrayList<>(BpeTestTexts.all());
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 500; i++) texts.add(BpeTestTexts.random(r));
        for (String name : List.of("gpt2", "qwen2", "llama3")) {
            BpeTokenizer tok = load(name);
            int checked = 0;
            for (String text : texts) {
                for (boolean parseSpecial : new boolean[]{false, true}) {
                    int[] ids = tok.encode(text, false, parseSpecial);
                    String expected = BpeTokenizer.withoutLoneSurrogates(text);
                    if (name.equals("qwen2")) expected = java.text.Normalizer.normalize(expected, java.text.Normalizer.Form.NFC);
                    String whole = tok.decode(ids);
                    assertEquals(expected, whole, name + ": decode(encode(" + TokenizerTexts.show(text) + "))");
                    TokenDecoder d = tok.decoder();
                    StringBuilder streamed = new StringBuilder();
                    for (int id : ids) {
                        String piece = d.next(id);
                        assertFalse(!piece.isEmpty() && Character.isHighSurrogate(piece.charAt(piece.length() - 1)), "piece ends inside a surrogate pair");
                        assertFalse(!piece.isEmpty() && Character.isLowSurrogate(piece.charAt(0)), "piece starts inside a surrogate pair");
                        // U+FFFD in a piece would mean bytes of a character were decoded apart (the texts carry none of their own after cleaning).
                        if (expected.indexOf('\uFFFD') < 0) assertEquals(-1, piece.indexOf('\uFFFD'), name + ": broken character streaming " + TokenizerTexts.show(text));
                        streamed.append(piece);
                    }
                    streamed.append(d.flush());
                    assertEquals(whole, streamed.toString(), name + ": streamed " + TokenizerTexts.show(text));
                    checked++;
                }
            }
            System.out.printf("%s: %d encode/decode round trips exact, streaming identical%n", name, checked);
        }
    }

    @Test
    void specialTokensAreSplitOnlyWhenAskedButOrdinaryAddedTokensAlways() {
        BpeTokenizer qwen = load("qwen2");
        assertArrayEquals(new int[]{151644, 872, 198, 151645}, qwen.encode("<|im_start|>user\n<|im_end|>", false, true));
        int[] asText = qwen.encode("<|im_start|>user\n<|im_end|>", false, false);
        assertTrue(asText.length > 4 && Arrays.stream(asText).allMatch(id -> id < 151643), Arrays.toString(asText));

        BpeSpec base = load("gpt2").spec();
        List<BpeSpec.AddedToken> added = new ArrayList<>(base.addedTokens());
        added.add(new BpeSpec.AddedToken(50257, "<tool>", false));
        BpeTokenizer withTool = BpeTokenizer.of(new BpeSpec(base.flavour(), base.vocab(), base.merges(), added, base.splitPatterns(), false, false, null, -1, base.eos()));
        assertEquals(50257, withTool.vocabSize() - 1);
        for (boolean parseSpecial : new boolean[]{false, true}) {
            int[] ids = withTool.encode("call <tool> now", false, parseSpecial);
            assertTrue(Arrays.stream(ids).anyMatch(id -> id == 50257), Arrays.toString(ids));
            assertEquals("call <tool> now", withTool.decode(ids));
        }
        assertFalse(Arrays.stream(withTool.encode("<|endoftext|>", false, false)).anyMatch(id -> id == 50256));
        assertArrayEquals(new int[]{50256}, withTool.encode("<|endoftext|>", false, true));
    }

    @Test
    void beginAndEndOfText() {
        BpeTokenizer llama = load("llama3"), qwen = load("qwen2"), gpt2 = load("gpt2");
        assertEquals(128000, llama.bos());
        assertEquals(128001, llama.eos());
        assertEquals(128000, llama.encode("Hi", true)[0]);
        assertTrue(llama.isEndOfText(128001) && llama.isEndOfText(128009));
        assertFalse(llama.isEndOfText(128000) || llama.isEndOfText(128006) || llama.isEndOfText(13));
        assertEquals("<|eot_id|>", llama.piece(128009));
        assertEquals(-1, qwen.bos());
        assertEquals(151645, qwen.eos());
        assertTrue(qwen.isEndOfText(151645) && qwen.isEndOfText(151643));
        assertFalse(qwen.isEndOfText(151644));
        assertEquals(-1, gpt2.bos());
        assertEquals(50256, gpt2.eos());
        assertArrayEquals(gpt2.encode("Hi", false), gpt2.encode("Hi", true));
        assertEquals("gpt-2", gpt2.llamaCppPreTokenizer());
        assertEquals("qwen2", qwen.llamaCppPreTokenizer());
        assertEquals("llama-bpe", llama.llamaCppPreTokenizer());
    }

    /** A 1 MB run of one kind of character costs O(n log n) to split and merge: no rescans, no quadratic blowup. */
    @Test
    void megabyteSingleWordIsFast() {
        SplittableRandom r = new SplittableRandom(3);
        StringBuilder random = new StringBuilder();
        for (int i = 0; i < 1 << 20; i++) random.append((char) ('a' + r.nextInt(26)));
        for (String name : List.of("gpt2", "llama3")) {
            BpeTokenizer tok = load(name);
            Map<String, String> words = new java.util.LinkedHashMap<>();
            words.put("one letter", "a".repeat(1 << 20));
            words.put("random letters", random.toString());
            words.put("spaces", " ".repeat(1 << 20) + "x");
            words.put("newlines", "\n".repeat(1 << 20));
            words.put("punctuation", "!".repeat(1 << 20));
            words.put("digits", "7".repeat(1 << 20));
            for (var e : words.entrySet()) {
                String word = e.getValue();
                long t0 = System.nanoTime();
                int[] ids = tok.encode(word, false, false);
                double s = (System.nanoTime() - t0) / 1e9;
                System.out.printf("%s: 1 MiB piece (%s) -> %d tokens in %.2f s%n", name, e.getKey(), ids.length, s);
                assertTrue(s < 20, name + " took " + s + " s");
                assertEquals(word, tok.decode(ids));
            }
        }
    }

    @Test
    void mergesInPairFormAndStringFormLoadAlike(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        BpeSpec spec = load("gpt2").spec();
        Map<String, Object> root = Json.parseObject(HfTokenizerJson.toJson(spec), "written");
        @SuppressWarnings("unchecked") Map<String, Object> model = (Map<String, Object>) root.get("model");
        List<Object> pairs = new ArrayList<>();
        for (BpeSpec.Merge m : spec.merges()) pairs.add(List.of(m.left(), m.right()));
        model.put("merges", pairs);
        Path p = dir.resolve("tokenizer.json");
        Files.writeString(p, Json.write(root));
        BpeTokenizer fromPairs = HfTokenizerJson.load(p);
        assertEquals(spec.merges(), fromPairs.spec().merges());
        String text = "Pairs and strings: the same 12345 merges!";
        assertArrayEquals(load("gpt2").encode(text, false), fromPairs.encode(text, false));
    }

    @Test
    void tiktokenMergesAreDerivedFromRanks() {
        BpeTokenizer llama = load("llama3");
        List<BpeSpec.Merge> merges = llama.spec().merges();
        // Every token longer than one byte but one of them gets the merge that builds it, in rank order.
        assertTrue(merges.size() > 127_000, "only " + merges.size() + " merges");
        assertNotEquals(merges.get(0), merges.get(1));
        assertEquals(new BpeSpec.Merge("Ġ", "Ġ"), merges.getFirst()); // rank 256: "  "
    }
}
