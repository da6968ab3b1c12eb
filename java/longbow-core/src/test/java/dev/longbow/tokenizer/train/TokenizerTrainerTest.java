package dev.longbow.tokenizer.train;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.longbow.LongbowException;
import dev.longbow.TestData;
import dev.longbow.tokenizer.RegexPreTokenizer;
import dev.longbow.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizerTrainerTest {
    private static final String GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    @TempDir
    Path dir;

    private Path shakespeare200k() throws IOException {
        byte[] all = Files.readAllBytes(TestData.shared("data/tinyshakespeare.txt"));
        Path p = dir.resolve("shakespeare-200k.txt");
        Files.write(p, Arrays.copyOf(all, 200_000));
        return p;
    }

    private static List<String> heldOutLines(int n) throws IOException {
        List<String> lines = new ArrayList<>();
        for (String line : Files.readAllLines(TestData.shared("data/pride-and-prejudice-pg1342.txt"))) {
            if (!line.isBlank()) lines.add(line);
            if (lines.size() == n) break;
        }
        return lines;
    }

    private static TokenizerTrainer.Options options(TokenizerTrainer.Kind kind, int vocab, long minFrequency, double coverage) {
        return new TokenizerTrainer.Options(kind, vocab, minFrequency, TokenizerTrainer.Options.defaultSpecialTokens(kind), coverage);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> model(String json) {
        return (Map<String, Object>) Json.parseObject(json, "tokenizer.json").get("model");
    }

    @SuppressWarnings("unchecked")
    private static List<String> merges(String json) {
        return (List<String>) model(json).get("merges");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> vocab(String json) {
        return (Map<String, Object>) model(json).get("vocab");
    }

    // ---- the trainer against a plain recount-every-step BPE on independently counted words ----

    /** GPT-2's byte-to-unicode table, written out again here so the trainer's copy is checked, not trusted. */
    private static char byteChar(int b) {
        if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return (char) b;
        int n = 0;
        for (int x = 0; x < b; x++) if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) n++;
        return (char) (256 + n);
    }

    private static String byteLevel(String piece) {
        StringBuilder sb = new StringBuilder();
        for (byte b : piece.getBytes(StandardCharsets.UTF_8)) sb.append(byteChar(b & 0xff));
        return sb.toString();
    }

    /**
     * Textbook BPE: every step recounts all pairs over all words, takes the highest count (ties: lower left id, then
     * lower right id) and rewrites every word left to right.
     */
    private static List<String> naiveMerges(Map<List<String>, Long> words, List<String> initial, int vocabSize, long minFrequency) {
        List<String> tokens = new ArrayList<>(initial);
        Map<String, Integer> idOf = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) idOf.put(tokens.get(i), i);
        List<int[]> symbols = new ArrayList<>();
        List<Long> counts = new ArrayList<>();
        for (var e : words.entrySet()) {
            symbols.add(e.getKey().stream().mapToInt(idOf::get).toArray());
            counts.add(e.getValue());
        }
        List<String> merges = new ArrayList<>();
        while (idOf.size() < vocabSize) {
            Map<Long, Long> pairCounts = new HashMap<>();
            for (int w = 0; w < symbols.size(); w++) {
                int[] s = symbols.get(w);
                for (int i = 0; i + 1 < s.length; i++) pairCounts.merge(((long) s[i] << 32) | s[i + 1], counts.get(w), Long::sum);
            }
            long bestKey = -1, bestCount = 0;
            for (var e : pairCounts.entrySet()) {
                if (e.getValue() > bestCount || (e.getValue() == bestCount && e.getKey() < bestKey)) {
                    bestKey = e.getKey();
                    bestCount = e.getValue();
                }
            }
            if (bestCount < Math.max(1, minFrequency)) break;
            int a = (int) (bestKey >>> 32), b = (int) bestKey;
            String merged = tokens.get(a) + tokens.get(b);
            Integer c = idOf.get(merged);
            if (c == null) {
                c = tokens.size();
                tokens.add(merged);
                idOf.put(merged, c);
            }
            merges.add(tokens.get(a) + " " + tokens.get(b));
            for (int w = 0; w < symbols.size(); w++) {
                int[] s = symbols.get(w);
                int[] out = new int[s.length];
                int n = 0;
                for (int i = 0; i < s.length; ) {
                    if (i + 1 < s.length && s[i] == a && s[i + 1] == b) {
                        out[n++] = c;
                        i += 2;
                    } else {
                        out[n++] = s[i++];
                    }
                }
                symbols.set(w, Arrays.copyOf(out, n));
            }
        }
        return merges;
    }

    @Test
    void byteLevelMergesEqualTextbookBpeOnTheSameWords() throws IOException {
        Path corpus = shakespeare200k();
        String json = TokenizerTrainer.train(List.of(corpus), options(TokenizerTrainer.Kind.BYTE_BPE, 1200, 2, 1), null).toJson();

        Map<List<String>, Long> words = new HashMap<>();
        String text = Files.readString(corpus);
        new RegexPreTokenizer(GPT2_PATTERN).split(text, 0, text.length(), (t, s, e) -> {
            List<String> symbols = byteLevel(t.subSequence(s, e).toString()).chars().mapToObj(c -> String.valueOf((char) c)).toList();
            words.merge(symbols, 1L, Long::sum);
        });
        List<String> initial = new ArrayList<>(List.of("<|endoftext|>"));
        TreeSet<String> bytes = new TreeSet<>();
        for (int b = 0; b < 256; b++) bytes.add(String.valueOf(byteChar(b)));
        initial.addAll(bytes);

        List<String> expected = naiveMerges(words, initial, 1200, 2);
        assertEquals(1200 - 257, expected.size());
        assertEquals(expected, merges(json));
        assertEquals(List.of("Ġ t", "h e", "o u", "Ġ a", "Ġ s"), merges(json).subList(0, 5), "the most frequent pairs of English");
    }

    @Test
    void sentencePieceStyleMergesEqualTextbookBpeOnTheSameWords() throws IOException {
        Path corpus = shakespeare200k();
        String json = TokenizerTrainer.train(List.of(corpus), options(TokenizerTrainer.Kind.BPE, 1200, 2, 1.0), null).toJson();

        Map<List<String>, Long> words = new HashMap<>();
        TreeSet<String> chars = new TreeSet<>();
        for (String line : Files.readAllLines(corpus)) {
            if (line.isEmpty()) continue;
            String normalized = "\u2581" + line.replace(' ', '\u2581');
            for (String word : normalized.split("(?=\u2581)")) {
                List<String> symbols = word.codePoints().mapToObj(Character::toString).toList();
                chars.addAll(symbols);
                words.merge(symbols, 1L, Long::sum);
            }
        }
        List<String> initial = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) initial.add(String.format("<0x%02X>", b));
        initial.addAll(chars);

        Map<String, Object> vocab = vocab(json);
        for (int i = 0; i < initial.size(); i++) assertEquals((long) i, vocab.get(initial.get(i)), initial.get(i));
        List<String> expected = naiveMerges(words, initial, 1200, 2);
        assertEquals(1200 - initial.size(), expected.size());
        assertEquals(expected, merges(json));
        for (String m : merges(json)) assertFalse(m.substring(m.indexOf(' ') + 1).contains("\u2581"), "a merge crosses a word start: " + m);
    }

    // ---- properties of the result ----

    @Test
    void sameInputSameFileExactSizeAndMergesBuiltFromEarlierTokens() throws IOException {
        Path corpus = shakespeare200k();
        for (TokenizerTrainer.Kind kind : TokenizerTrainer.Kind.values()) {
            TrainedTokenizer t = TokenizerTrainer.train(List.of(corpus), options(kind, 2000, 2, 0.9995), null);
            String again = TokenizerTrainer.train(List.of(corpus), options(kind, 2000, 2, 0.9995), null).toJson();
            assertEquals(t.toJson(), again, kind + ": same corpus, same file");
            assertEquals(2000, t.vocabSize(), kind.cliName);

            Map<String, Object> vocab = vocab(t.toJson());
            assertEquals(2000, vocab.size());
            TreeSet<Long> ids = new TreeSet<>();
            for (Object id : vocab.values()) ids.add((Long) id);
            assertEquals(0L, ids.first());
            assertEquals(1999L, ids.last(), "ids are 0..N-1 without gaps");

            // Every merge's two parts are initial tokens or results of earlier merges.
            Map<String, Integer> rankOfResult = new HashMap<>();
            int initial = t.stats().alphabet();
            List<String> merges = merges(t.toJson());
            for (int r = 0; r < merges.size(); r++) {
                String[] parts = merges.get(r).split(" ");
                assertEquals(2, parts.length, merges.get(r));
                for (String part : parts) {
                    long id = (Long) vocab.get(part);
                    assertTrue(id < initial || rankOfResult.getOrDefault(part, Integer.MAX_VALUE) < r, "merge " + r + " uses " + part + " before it exists");
                }
                assertTrue(vocab.containsKey(parts[0] + parts[1]), merges.get(r));
                rankOfResult.putIfAbsent(parts[0] + parts[1], r);
            }
        }
    }

    @Test
    void chunkedReadingSplitsAsOneWholeText() throws IOException {
        Path corpus = shakespeare200k();
        TokenizerTrainer.Options o = options(TokenizerTrainer.Kind.BYTE_BPE, 1500, 2, 1);
        TrainedTokenizer whole = TokenizerTrainer.train(List.of(corpus), o, null);
        TrainedTokenizer chunked = TokenizerTrainer.train(List.of(corpus), o, null, 4096);
        assertEquals(whole.stats().words(), chunked.stats().words());
        assertEquals(whole.toJson(), chunked.toJson());
    }

    @Test
    void specialTokensInTheTextSeparateWordsAndAreNotLearned() throws IOException {
        Path stories = TestData.shared("data/tinystories-valid-500stories.txt");
        TrainedTokenizer t = TokenizerTrainer.train(List.of(stories), options(TokenizerTrainer.Kind.BYTE_BPE, 1500, 2, 1), null);
        assertEquals("<|endoftext|>", t.tokens().get(0));
        for (String token : t.tokens().subList(1, t.tokens().size())) assertFalse(token.contains("endoftext"), token);
    }

    @Test
    void rareCharactersAreLeftToByteFallback() throws IOException {
        Path corpus = dir.resolve("rare.txt");
        Files.writeString(corpus, "the cat sat on the mat\n".repeat(200) + "a café\n");
        TrainedTokenizer all = TokenizerTrainer.train(List.of(corpus), options(TokenizerTrainer.Kind.BPE, 280, 2, 1.0), null);
        TrainedTokenizer covered = TokenizerTrainer.train(List.of(corpus), options(TokenizerTrainer.Kind.BPE, 280, 2, 0.999), null);
        assertTrue(all.tokens().contains("é"));
        assertFalse(covered.tokens().contains("é"), "é is 1 of ~4,600 characters, outside 99.9% coverage");
        assertEquals(280, covered.vocabSize());
    }

    @Test
    void badOptionsAreClearErrors() throws IOException {
        Path corpus = shakespeare200k();
        LongbowException e = assertThrows(LongbowException.class, () -> options(TokenizerTrainer.Kind.BYTE_BPE, 200, 2, 1));
        assertTrue(e.getMessage().contains("below the alphabet"), e.getMessage());
        e = assertThrows(LongbowException.class, () -> TokenizerTrainer.train(List.of(corpus), options(TokenizerTrainer.Kind.BPE, 270, 2, 1), null));
        assertTrue(e.getMessage().contains("below the alphabet"), e.getMessage());
        e = assertThrows(LongbowException.class, () -> TokenizerTrainer.train(List.of(dir.resolve("missing.txt")), options(TokenizerTrainer.Kind.BPE, 1000, 2, 1), null));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
        e = assertThrows(LongbowException.class, () -> new TokenizerTrainer.Options(TokenizerTrainer.Kind.BYTE_BPE, 1000, 2, List.of("a"), 1));
        assertTrue(e.getMessage().contains("spelled like a byte token"), e.getMessage());
        e = assertThrows(LongbowException.class, () -> TokenizerTrainer.Kind.parse("wordpiece"));
        assertTrue(e.getMessage().contains("unknown tokenizer kind"), e.getMessage());
    }

    // ---- the written file, read by Hugging Face tokenizers ----

    /** Applies the file's merges by rank (lowest first, leftmost on ties), the way a BPE tokenizer.json is meant. */
    private static final class ReferenceEncoder {
        private final Map<String, Integer> vocab = new HashMap<>();
        private final Map<String, Integer> rank = new HashMap<>();
        private final List<String> specials = new ArrayList<>();
        private final boolean byteLevel;

        @SuppressWarnings("unchecked")
        ReferenceEncoder(String json) {
            Map<String, Object> root = Json.parseObject(json, "tokenizer.json");
            Map<String, Object> model = (Map<String, Object>) root.get("model");
            ((Map<String, Object>) model.get("vocab")).forEach((k, v) -> vocab.put(k, ((Long) v).intValue()));
            List<String> merges = (List<String>) model.get("merges");
            for (int r = 0; r < merges.size(); r++) rank.put(merges.get(r), r);
            for (Object o : (List<Object>) root.get("added_tokens")) specials.add((String) ((Map<String, Object>) o).get("content"));
            byteLevel = root.get("pre_tokenizer") != null;
        }

        List<Integer> encode(String text) {
            List<Integer> ids = new ArrayList<>();
            String alternatives = String.join("|", specials.stream().map(Pattern::quote).toList());
            var m = Pattern.compile(alternatives).matcher(text);
            int last = 0;
            while (m.find()) {
                encodeText(text.substring(last, m.start()), ids);
                ids.add(vocab.get(m.group()));
                last = m.end();
            }
            encodeText(text.substring(last), ids);
            return ids;
        }

        private void encodeText(String text, List<Integer> ids) {
            if (text.isEmpty()) return;
            if (byteLevel) {
                new RegexPreTokenizer(GPT2_PATTERN).split(text, 0, text.length(), (t, s, e) -> {
                    String piece = byteLevel(t.subSequence(s, e).toString());
                    for (String symbol : bpe(piece.chars().mapToObj(c -> String.valueOf((char) c)).toList())) ids.add(vocab.get(symbol));
                });
            } else {
                String normalized = "\u2581" + text.replace(' ', '\u2581');
                for (String symbol : bpe(normalized.codePoints().mapToObj(Character::toString).toList())) {
                    Integer id = vocab.get(symbol);
                    if (id != null) {
                        ids.add(id);
                    } else {
                        for (byte b : symbol.getBytes(StandardCharsets.UTF_8)) ids.add(vocab.get(String.format("<0x%02X>", b & 0xff)));
                    }
                }
            }
        }

        private List<String> bpe(List<String> initial) {
            List<String> s = new ArrayList<>(initial);
            while (true) {
                int best = -1, bestRank = Integer.MAX_VALUE;
                for (int i = 0; i + 1 < s.size(); i++) {
                    Integer r = rank.get(s.get(i) + " " + s.get(i + 1));
                    if (r != null && r < bestRank) {
                        bestRank = r;
                        best = i;
                    }
                }
                if (best < 0) return s;
                s.set(best, s.get(best) + s.remove(best + 1));
            }
        }
    }

    private static List<Integer> asList(int[] ids) {
        List<Integer> out = new ArrayList<>();
        for (int id : ids) out.add(id);
        return out;
    }

    private static List<Integer> asList(long[] ids) {
        List<Integer> out = new ArrayList<>();
        for (long id : ids) out.add((int) id);
        return out;
    }

    private void checkWithHuggingFace(TokenizerTrainer.Kind kind, double coverage) throws IOException {
        TrainedTokenizer trained = TokenizerTrainer.train(List.of(shakespeare200k()), options(kind, 3000, 2, coverage), null);
        Path file = dir.resolve(kind.cliName + ".json");
        Files.writeString(file, trained.toJson());
        ReferenceEncoder reference = new ReferenceEncoder(trained.toJson());
        List<String> lines = heldOutLines(400);
        String block = String.join("\n", lines.subList(0, 60)) + "\n\n  indented, trailing  \n";
        int nonAsciiLines = 0;
        // Longbow loads the same file and must agree with Hugging Face id for id (HF always splits special tokens).
        dev.longbow.tokenizer.Tokenizer ours = dev.longbow.tokenizer.Tokenizers.load(file);
        try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.builder().optTokenizerPath(file).optAddSpecialTokens(false).optTruncation(false).build()) {
            List<String> texts = new ArrayList<>(lines);
            texts.add(block);
            for (String text : texts) {
                long[] ids = hf.encode(text).getIds();
                assertEquals(reference.encode(text), asList(ids), kind.cliName + ": ids of '" + text + "'");
                assertEquals(text, hf.decode(ids, false), kind.cliName + ": round trip");
                assertEquals(asList(ids), asList(ours.encode(text, false, true)), kind.cliName + ": Longbow's ids of '" + text + "'");
                assertEquals(text, ours.decode(ours.encode(text, false, true)), kind.cliName + ": Longbow's round trip");
                if (!text.chars().allMatch(c -> c < 128)) nonAsciiLines++;
            }
            assertTrue(nonAsciiLines >= 5, "the held-out text exercises characters the corpus lacks: " + nonAsciiLines);
            if (kind == TokenizerTrainer.Kind.BYTE_BPE) {
                long[] ids = hf.encode("The end.<|endoftext|>Once upon a time").getIds();
                assertTrue(asList(ids).contains(0), "<|endoftext|> is one token, id 0");
                assertEquals(reference.encode("The end.<|endoftext|>Once upon a time"), asList(ids));
                assertEquals(asList(ids), asList(ours.encode("The end.<|endoftext|>Once upon a time", false, true)));
            }
        }
    }

    @Test
    void byteLevelFileMeansInHuggingFaceWhatTheTrainerMeant() throws IOException {
        checkWithHuggingFace(TokenizerTrainer.Kind.BYTE_BPE, 1);
    }

    @Test
    void sentencePieceStyleFileMeansInHuggingFaceWhatTheTrainerMeant() throws IOException {
        checkWithHuggingFace(TokenizerTrainer.Kind.BPE, 0.9995);
    }

    @Test
    void fileLayoutIsGpt2OrLlama2Like() throws IOException {
        Path corpus = shakespeare200k();
        Map<String, Object> gpt2 = Json.parseObject(
                TokenizerTrainer.train(List.of(corpus), options(TokenizerTrainer.Kind.BYTE_BPE, 400, 2, 1), null).toJson(), "byte-bpe");
        assertEquals(List.of("version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model"),
                new ArrayList<>(gpt2.keySet()));
        // GPT-2's split written out, then the byte-level alphabet: what HF's ByteLevel(use_regex) does in one step.
        List<?> steps = (List<?>) ((Map<?, ?>) gpt2.get("pre_tokenizer")).get("pretokenizers");
        assertEquals("Split", ((Map<?, ?>) steps.get(0)).get("type"));
        assertEquals("ByteLevel", ((Map<?, ?>) steps.get(1)).get("type"));
        assertEquals(false, ((Map<?, ?>) steps.get(1)).get("add_prefix_space"));
        assertEquals(null, gpt2.get("normalizer"));
        Map<String, Object> llama = Json.parseObject(
                TokenizerTrainer.train(List.of(corpus), options(TokenizerTrainer.Kind.BPE, 400, 2, 1), null).toJson(), "bpe");
        Map<?, ?> model = (Map<?, ?>) llama.get("model");
        assertEquals(true, model.get("byte_fallback"));
        assertEquals("<unk>", model.get("unk_token"));
        Map<?, ?> vocab = (Map<?, ?>) model.get("vocab");
        Map<String, Long> firstIds = new LinkedHashMap<>();
        for (String t : List.of("<unk>", "<s>", "</s>", "<0x00>", "<0xFF>")) firstIds.put(t, (Long) vocab.get(t));
        assertEquals(Map.of("<unk>", 0L, "<s>", 1L, "</s>", 2L, "<0x00>", 3L, "<0xFF>", 258L), firstIds);
        assertEquals(3, ((List<?>) llama.get("added_tokens")).size());
    }
}
