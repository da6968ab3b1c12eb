package dev.longbow.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.longbow.TestData;
import dev.longbow.util.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The scanners against Hugging Face tokenizers itself (Rust, Oniguruma; through DJL). Each reference tokenizer is a
 * tokenizer.json whose pre-tokenizer is Split(pattern, isolated) then ByteLevel(use_regex false), and whose model is
 * a BPE with no merges, the 256 byte characters and an end-of-word suffix: every token is one byte, and the suffix
 * marks the last byte of each piece, so the token list spells out Hugging Face's pieces in byte-level form. Strings
 * here hold no lone surrogates: DJL hands those to Rust as U+FFFD triples.
 */
class PreTokenizerHfTest {
    private static final String END = "</w>";
    private static final String SPECIAL = "<|endoftext|>";

    @TempDir
    static Path dir;
    static final Map<String, HuggingFaceTokenizer> hf = new LinkedHashMap<>();

    @BeforeAll
    static void build() throws IOException {
        for (PreTokenizerTest.Case c : PreTokenizerTest.CASES) hf.put(c.name(), tokenizer(c.name(), splitThenBytes(c.regex().pattern())));
    }

    @AfterAll
    static void close() {
        hf.values().forEach(HuggingFaceTokenizer::close);
    }

    static HuggingFaceTokenizer tokenizer(String name, Object preTokenizer) throws IOException {
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(ByteLevel.charOf(b)), (long) vocab.size());
        for (int b = 0; b < 256; b++) vocab.put(ByteLevel.charOf(b) + END, (long) vocab.size());
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("unk_token", null);
        model.put("end_of_word_suffix", END);
        model.put("vocab", vocab);
        model.put("merges", List.of());
        Map<String, Object> special = new LinkedHashMap<>();
        special.put("id", (long) vocab.size());
        special.put("content", SPECIAL);
        special.put("single_word", false);
        special.put("lstrip", false);
        special.put("rstrip", false);
        special.put("normalized", false);
        special.put("special", true);
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("added_tokens", List.of(special));
        root.put("normalizer", null);
        root.put("pre_tokenizer", preTokenizer);
        root.put("model", model);
        Path file = dir.resolve(name + "-tokenizer.json");
        Files.writeString(file, Json.write(root));
        return HuggingFaceTokenizer.builder().optTokenizerPath(file).optAddSpecialTokens(false)
                .optTruncation(false).optPadding(false).build();
    }

    static Map<String, Object> splitThenBytes(String pattern) {
        Map<String, Object> split = new LinkedHashMap<>();
        split.put("type", "Split");
        split.put("pattern", Map.of("Regex", pattern));
        split.put("behavior", "Isolated");
        split.put("invert", false);
        Map<String, Object> bytes = new LinkedHashMap<>();
        bytes.put("type", "ByteLevel");
        bytes.put("add_prefix_space", false);
        bytes.put("trim_offsets", false);
        bytes.put("use_regex", false);
        return Map.of("type", "Sequence", "pretokenizers", List.of(split, bytes));
    }

    /** Hugging Face's pieces, byte-level spelled; the special token is a piece of its own. */
    static List<String> hfPieces(HuggingFaceTokenizer t, String text) {
        List<String> out = new ArrayList<>();
        StringBuilder piece = new StringBuilder();
        for (String token : t.encode(text).getTokens()) {
            if (token.equals(SPECIAL)) {
                if (!piece.isEmpty()) fail("piece before a special token was not ended: " + piece);
                out.add(token);
            } else if (token.endsWith(END)) {
                out.add(piece.append(token, 0, token.length() - END.length()).toString());
                piece.setLength(0);
            } else {
                piece.append(token);
            }
        }
        if (!piece.isEmpty()) fail("last piece was not ended: " + piece);
        return out;
    }

    /** Ours: special tokens split out first, then the scanner on the text between them, as a tokenizer does. */
    static List<String> ourPieces(PreTokenizer p, String text) {
        List<String> out = new ArrayList<>();
        new SpecialTokens(Map.of(SPECIAL, 0)).split(text, new SpecialTokens.Sink() {
            @Override
            public void text(String s, int start, int end) {
                p.split(s, start, end, (t, a, b) -> out.add(ByteLevel.toByteLevel(Utf8.encode(t, a, b))));
            }

            @Override
            public void special(int id) {
                out.add(SPECIAL);
            }
        });
        return out;
    }

    static void assertSameAsHf(PreTokenizerTest.Case c, String text) {
        List<String> expected = hfPieces(hf.get(c.name()), text);
        List<String> actual = ourPieces(c.fast(), text);
        if (!expected.equals(actual)) fail(c.name() + " differs from Hugging Face on " + PreTokenizerTest.escape(text) + "\n    hf: " + expected + "\n  ours: " + actual);
    }

    @Test
    void llamaCppTestTexts() throws IOException {
        for (PreTokenizerTest.Case c : PreTokenizerTest.CASES) for (String t : PreTokenizerTest.vocabTestTexts()) assertSameAsHf(c, t);
    }

    @Test
    void randomStringsWithSpecialTokens() {
        int n = 0;
        for (PreTokenizerTest.Case c : PreTokenizerTest.CASES) {
            Random r = new Random(1000 + c.name().hashCode());
            for (int i = 0; i < 3000; i++, n++) {
                String text = RandomText.next(r, 24, false);
                if (i % 3 == 0) {
                    int at = r.nextInt(text.length() + 1);
                    if (!PreTokenizerTest.cutsPair(text, at)) text = text.substring(0, at) + SPECIAL + text.substring(at);
                }
                assertSameAsHf(c, text);
            }
        }
        assertEquals(9000, n);
    }

    @Test
    void realText() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(TestData.shared("data"))) {
            files = s.filter(p -> p.toString().endsWith(".txt")).sorted().toList();
        }
        for (Path f : files) {
            String text = Files.readString(f);
            text = text.substring(0, Math.min(text.length(), 200_000));
            for (PreTokenizerTest.Case c : PreTokenizerTest.CASES) {
                List<String> expected = hfPieces(hf.get(c.name()), text);
                List<String> actual = ourPieces(c.fast(), text);
                assertEquals(expected.size(), actual.size(), c.name() + " piece count on " + f.getFileName());
                for (int i = 0; i < expected.size(); i++)
                    if (!expected.get(i).equals(actual.get(i))) fail(c.name() + " on " + f.getFileName() + ", piece " + i + ": hf " + expected.get(i) + ", ours " + actual.get(i));
            }
        }
    }

    /**
     * Oniguruma's {@code \p{L}}, {@code \p{N}}, {@code \s} and case-insensitive contractions agree with the scanners
     * for every code point, so Hugging Face's Unicode tables are the JDK's for these (checked with DJL 0.38.0, that
     * is tokenizers 0.21, and JDK 25). A Split that removes its matches, with a word-level model that turns each
     * stretch left over into one token whose span (in code points) shows which code points were not matched.
     */
    @Test
    void unicodeClassesForEveryCodePoint() throws IOException {
        Map<String, Integer> classes = Map.of("\\p{L}", (int) BytePreTokenizers.LETTER, "\\p{N}", (int) BytePreTokenizers.DIGIT, "\\s", (int) BytePreTokenizers.SPACE);
        for (var e : classes.entrySet()) {
            try (HuggingFaceTokenizer t = removing(e.getKey())) {
                List<String> wrong = new ArrayList<>();
                List<Integer> cps = new ArrayList<>();
                StringBuilder text = new StringBuilder();
                for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
                    if (isSurrogate(cp)) continue;
                    cps.add(cp);
                    text.appendCodePoint(cp);
                }
                boolean[] kept = kept(t, text.toString(), cps.size());
                for (int i = 0; i < cps.size(); i++) {
                    boolean ours = BytePreTokenizers.classOfCodePoint(cps.get(i)) == e.getValue();
                    if (kept[i] == ours && wrong.size() < 20) wrong.add(String.format("U+%04X", cps.get(i)));
                }
                assertEquals(List.of(), wrong, e.getKey() + ": Hugging Face and the scanners disagree");
            }
        }
        // "'" + X for every X; "'" + X + "e", "'r" + X, ... for every X in the BMP (no astral code point case-folds
        // to an ASCII letter). The scanners' contractions equal java.util.regex's: PreTokenizerTest.
        String contractions = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
        Pattern java = Pattern.compile(contractions, Pattern.UNICODE_CHARACTER_CLASS);
        try (HuggingFaceTokenizer t = removing(contractions)) {
            for (String form : new String[]{"'X", "'Xe", "'rX", "'vX", "'Xl", "'lX"}) {
                int last = form.equals("'X") ? Character.MAX_CODE_POINT : 0xFFFF;
                StringBuilder text = new StringBuilder();
                List<String> samples = new ArrayList<>();
                List<Integer> apostrophes = new ArrayList<>();
                int length = 0;
                for (int cp = 0; cp <= last; cp++) {
                    if (isSurrogate(cp) || cp == '|') continue;
                    String sample = form.replace("X", Character.toString(cp));
                    samples.add(sample);
                    apostrophes.add(length);
                    text.append(sample).append('|');
                    length += sample.codePointCount(0, sample.length()) + 1;
                }
                boolean[] kept = kept(t, text.toString(), length);
                for (int i = 0; i < samples.size(); i++) {
                    boolean hfMatches = !kept[apostrophes.get(i)], javaMatches = java.matcher(samples.get(i)).lookingAt();
                    if (hfMatches != javaMatches) fail("contraction " + PreTokenizerTest.escape(samples.get(i)) + ": Hugging Face " + hfMatches + ", java.util.regex " + javaMatches);
                }
            }
        }
    }

    /**
     * {@link Normalization#nfc} as Hugging Face's NFC normalizer (Qwen2's): every BMP code point alone, and for every
     * code point with a canonical decomposition its NFD form, which NFC must put back together (or not, for the
     * composition exclusions) the same way. They differ only on 21 compositions in scripts new in Unicode 13 and 16.
     */
    @Test
    void nfcLikeHuggingFace() throws IOException {
        List<String> samples = new ArrayList<>();
        for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
            if (isSurrogate(cp) || cp == '|') continue;
            String c = Character.toString(cp);
            if (cp <= 0xFFFF) samples.add(c);
            String nfd = java.text.Normalizer.normalize(c, java.text.Normalizer.Form.NFD);
            if (!nfd.equals(c)) samples.add(nfd);
        }
        samples.add("e\u0301\u0323 a\u0323\u0301 \u1100\u1161\u11A8 \u0041\u030A\u0301 Qwen2\u2122");
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(ByteLevel.charOf(b)), (long) vocab.size());
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("added_tokens", List.of());
        root.put("normalizer", Map.of("type", "NFC"));
        root.put("pre_tokenizer", Map.of("type", "ByteLevel", "add_prefix_space", false, "trim_offsets", false, "use_regex", false));
        root.put("model", Map.of("type", "BPE", "vocab", vocab, "merges", List.of()));
        Path file = dir.resolve("nfc.json");
        Files.writeString(file, Json.write(root));
        try (HuggingFaceTokenizer t = HuggingFaceTokenizer.builder().optTokenizerPath(file).optAddSpecialTokens(false).optTruncation(false).optPadding(false).build()) {
            StringBuilder bytes = new StringBuilder();
            for (String token : t.encode(String.join("|", samples)).getTokens()) bytes.append(token);
            String[] hfNfc = new String(ByteLevel.fromByteLevel(bytes), java.nio.charset.StandardCharsets.UTF_8).split("\\|", -1);
            assertEquals(samples.size(), hfNfc.length);
            // Hugging Face leaves these decomposed: compositions of Dives Akuru (Unicode 13) and of Todhri,
            // Tulu-Tigalari, Gurung Khema and Kirat Rai (Unicode 16), which its normalisation tables lack.
            Set<Integer> newerCompositions = Set.of(0x105C9, 0x105E4, 0x11383, 0x11385, 0x1138E, 0x11391, 0x113C5,
                    0x113C7, 0x113C8, 0x11938, 0x16121, 0x16122, 0x16123, 0x16124, 0x16125, 0x16126, 0x16127, 0x16128,
                    0x16D68, 0x16D69, 0x16D6A);
            Set<Integer> differ = new TreeSet<>();
            for (int i = 0; i < samples.size(); i++) {
                String ours = Normalization.nfc(samples.get(i));
                if (hfNfc[i].equals(ours)) continue;
                if (!hfNfc[i].equals(samples.get(i)) || ours.codePointCount(0, ours.length()) != 1)
                    fail("NFC of " + PreTokenizerTest.escape(samples.get(i)) + ": Hugging Face " + PreTokenizerTest.escape(hfNfc[i]) + ", ours " + PreTokenizerTest.escape(ours));
                differ.add(ours.codePointAt(0));
            }
            assertEquals(new TreeSet<>(newerCompositions), differ);
        }
    }

    /** A tokenizer that drops what {@code pattern} matches and makes one token of each stretch in between. */
    private static HuggingFaceTokenizer removing(String pattern) throws IOException {
        Map<String, Object> split = new LinkedHashMap<>();
        split.put("type", "Split");
        split.put("pattern", Map.of("Regex", pattern));
        split.put("behavior", "Removed");
        split.put("invert", false);
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("added_tokens", List.of());
        root.put("normalizer", null);
        root.put("pre_tokenizer", split);
        root.put("model", Map.of("type", "WordLevel", "vocab", Map.of("[UNK]", 0L), "unk_token", "[UNK]"));
        Path file = dir.resolve("removing.json");
        Files.writeString(file, Json.write(root));
        return HuggingFaceTokenizer.builder().optTokenizerPath(file).optAddSpecialTokens(false).optTruncation(false).optPadding(false).build();
    }

    /** Which code points of {@code text} (by code point index) survive in some token. */
    private static boolean[] kept(HuggingFaceTokenizer t, String text, int codePoints) {
        boolean[] kept = new boolean[codePoints];
        for (var span : t.encode(text).getCharTokenSpans()) for (int i = span.getStart(); i < span.getEnd(); i++) kept[i] = true;
        return kept;
    }

    private static boolean isSurrogate(int cp) {
        return cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE;
    }
}
