package dev.longbow.tokenizer;

import dev.longbow.LongbowException;
import dev.longbow.TestData;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Behaviour of the SentencePiece BPE tokenizer beyond the goldens: special tokens, edge inputs, speed, damaged files. */
class SentencePieceBpeTest {
    static Tokenizer llama2Model() {
        return SentencePieceGoldenTest.shared("models/llama2-tokenizer.model");
    }

    static Tokenizer llama2Bin() {
        return SentencePieceGoldenTest.shared("models/llama2-tokenizer.bin");
    }

    static Tokenizer llama2Gguf() {
        return SentencePieceGoldenTest.shared("vocab/ggml-vocab-llama-spm.gguf");
    }

    static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    @Test
    void emptyTextHasNoTokens() {
        for (Tokenizer t : List.of(llama2Model(), llama2Bin(), llama2Gguf(), SentencePieceGoldenTest.resource("spm-nfkc-bpe.model"))) {
            assertArrayEquals(new int[0], t.encode("", false));
            assertArrayEquals(new int[]{t.bos()}, t.encode("", true));
            assertArrayEquals(new int[0], t.encode("", false, true));
            assertEquals("", t.decode(new int[0]));
        }
    }

    @Test
    void unpairedSurrogatesReadAsReplacementCharacters() {
        Tokenizer t = llama2Model();
        assertArrayEquals(t.encode("a\uFFFDb", false), t.encode("a\uD800b", false));
        assertArrayEquals(t.encode("\uFFFD", false), t.encode("\uDC00", false));
        assertArrayEquals(t.encode("x\uFFFD\uFFFD", false), t.encode("x\uDC00\uD800", false)); // reversed pair: two strays
        assertEquals("😀", t.decode(t.encode("\uD83D\uDE00", false)));
    }

    /**
     * llama.cpp (tokenize_impl, SPM) partitions the text at special-token spellings and gives every text fragment the
     * dummy-prefix space, since each one starts the text or follows a special token.
     */
    @Test
    void parseSpecialTurnsSpellingsIntoIdsAndEncodesTheTextBetweenAsItsOwnText() {
        Tokenizer t = llama2Model();
        assertArrayEquals(concat(new int[]{1}, t.encode("Hello", false), new int[]{2}, t.encode(" world", false)),
                t.encode("<s>Hello</s> world", false, true));
        assertArrayEquals(concat(t.encode("a", false), new int[]{0}, t.encode("b", false)), t.encode("a<unk>b", false, true));
        assertArrayEquals(concat(new int[]{1, 1}, t.encode("x", false)), t.encode("<s>x", true, true));
        assertArrayEquals(new int[]{2, 2}, t.encode("</s></s>", false, true));
        // Without parseSpecial the spellings are text, as sentencepiece has them.
        int[] plain = t.encode("<s>Hello</s>", false, false);
        assertFalse(Arrays.stream(plain).anyMatch(id -> id < 3), Arrays.toString(plain));
        assertEquals("<s>Hello</s>", t.decode(plain));
        // Every source of the vocabulary agrees.
        for (Tokenizer other : List.of(llama2Bin(), llama2Gguf())) {
            assertArrayEquals(t.encode("<s>[INST] Hi [/INST]</s><unk>", true, true), other.encode("<s>[INST] Hi [/INST]</s><unk>", true, true));
        }
        // Control pieces decode to nothing; the dummy space in front of the text after one shows.
        assertEquals("Hello world", t.decode(t.encode("<s>Hello</s>world", false, true)));
    }

    @Test
    void userDefinedSymbolsAreAlwaysOnePieceAndControlSymbolsOnlyWithParseSpecial() {
        Tokenizer t = SentencePieceGoldenTest.resource("spm-nfkc-bpe.model");
        int br = indexOf(t, "<br>"), sep = indexOf(t, "<sep>");
        assertTrue(Arrays.stream(t.encode("line<br>break", false)).anyMatch(id -> id == br));
        assertFalse(Arrays.stream(t.encode("a<sep>b", false)).anyMatch(id -> id == sep));
        assertArrayEquals(concat(t.encode("a", false), new int[]{sep}, t.encode("b", false)), t.encode("a<sep>b", false, true));
    }

    static int indexOf(Tokenizer t, String piece) {
        for (int i = 0; i < t.vocabSize(); i++) if (t.piece(i).equals(piece)) return i;
        throw new AssertionError("no piece " + piece);
    }

    /** A 100 KB word merges in O(n log n): no quadratic rescans, no recursion. */
    @Test
    void longSingleWordsEncodeQuicklyAndRoundTrip() {
        SplittableRandom r = new SplittableRandom(7);
        StringBuilder letters = new StringBuilder(), cjk = new StringBuilder();
        for (int i = 0; i < 100_000; i++) letters.append((char) ('a' + r.nextInt(26)));
        for (int i = 0; i < 35_000; i++) cjk.append((char) (0x4E00 + r.nextInt(0x5000)));
        List<String> words = List.of("a".repeat(100_000), letters.toString(), cjk.toString(), " ".repeat(100_000), "😀".repeat(25_000));
        Tokenizer model = llama2Model(), bin = llama2Bin();
        for (String w : words) {
            int[] ids = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> model.encode(w, false));
            assertArrayEquals(ids, bin.encode(w, false));
            assertEquals(w, model.decode(ids));
        }
    }

    @Test
    void streamingDecoderEmitsOnlyWholeCharactersAndEndsLikeSentencepiece() {
        Tokenizer t = llama2Model();
        int[] ids = t.encode("日本🍕 naïve 😀!", false);
        StringBuilder all = new StringBuilder();
        TokenDecoder d = t.decoder();
        for (int id : ids) {
            String s = d.next(id);
            assertEquals(-1, s.indexOf('\uFFFD'), "broken character after " + id);
            if (!s.isEmpty()) assertFalse(Character.isHighSurrogate(s.charAt(s.length() - 1)));
            all.append(s);
        }
        assertEquals("日本🍕 naïve 😀!", all.append(d.flush()).toString());
        // sentencepiece turns each byte that starts no well-formed character into U+FFFD, also at the very end.
        int e6 = 3 + 0xE6, x97 = 3 + 0x97, a = 3 + 'A';
        assertEquals("\uFFFD\uFFFD", t.decode(new int[]{e6, x97}));
        assertEquals("\uFFFD\uFFFDA", t.decode(new int[]{e6, x97, a}));
        assertEquals("\uFFFD\uFFFD Hello", t.decode(concat(new int[]{e6, x97}, t.encode("Hello", false))));
        TokenDecoder s = t.decoder();
        assertEquals("", s.next(e6));
        assertEquals("", s.next(x97));
        assertEquals("\uFFFD\uFFFD", s.flush());
    }

    /** Random strings over many Unicode blocks: the .model, .bin and .gguf readings of Llama 2 agree, and text survives. */
    @Test
    void randomStringsAgreeAcrossEverySourceOfTheVocabulary() {
        Tokenizer model = llama2Model(), bin = llama2Bin(), gguf = llama2Gguf();
        Tokenizer tok105Bin = SentencePieceGoldenTest.shared("models/tok105.bin");
        Tokenizer tok105Gguf = SentencePieceGoldenTest.viaGguf("tok105", () -> SentencePieceGoldenTest.shared("models/tok105.bin"));
        int[][] blocks = {{0x20, 0x7E}, {0x00, 0x20}, {0xA0, 0x24F}, {0x300, 0x36F}, {0x370, 0x6FF}, {0x900, 0x97F}, {0x2000, 0x2BFF},
                {0x3000, 0x9FFF}, {0xAC00, 0xD7A3}, {0xD800, 0xDFFF}, {0xE000, 0xFFFF}, {0x10000, 0x1FFFF}, {0x1F300, 0x1FAFF}, {0x20000, 0x10FFFF}};
        String[] specials = {"<s>", "</s>", "<unk>", "\u2581", "  ", "\n"};
        SplittableRandom r = new SplittableRandom(0x5EED);
        int n = 3000;
        for (int k = 0; k < n; k++) {
            StringBuilder sb = new StringBuilder();
            for (int len = r.nextInt(1, 30), i = 0; i < len; i++) {
                if (r.nextInt(10) == 0) {
                    sb.append(specials[r.nextInt(specials.length)]);
                    continue;
                }
                int[] b = blocks[r.nextInt(blocks.length)];
                sb.appendCodePoint(r.nextInt(b[0], b[1] + 1));
            }
            String s = sb.toString();
            for (boolean special : new boolean[]{false, true}) {
                int[] ids = model.encode(s, true, special);
                assertArrayEquals(ids, bin.encode(s, true, special), s);
                assertArrayEquals(ids, gguf.encode(s, true, special), s);
                assertArrayEquals(tok105Bin.encode(s, true, special), tok105Gguf.encode(s, true, special), s);
                if (!special) assertEquals(asJavaReads(s).replace('\u2581', ' '), model.decode(ids), s);
            }
        }
        System.out.println(n + " random strings: .model, .bin and .gguf agree, with and without parseSpecial");
    }

    /** The text with unpaired surrogates as U+FFFD. */
    static String asJavaReads(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                sb.append(c).append(s.charAt(++i));
            } else {
                sb.append(Character.isSurrogate(c) ? '\uFFFD' : c);
            }
        }
        return sb.toString();
    }

    @Test
    void tiktokenModelFilesAreNotTakenForProtobuf() throws Exception {
        byte[] llama3 = Files.readAllBytes(TestData.shared("vocab/llama3/tokenizer.model"));
        assertFalse(SentencePieceModelFile.looksLikeProtobuf(Arrays.copyOf(llama3, 16)));
        assertTrue(SentencePieceModelFile.looksLikeProtobuf(Arrays.copyOf(Files.readAllBytes(TestData.shared("models/llama2-tokenizer.model")), 16)));
    }

    @Test
    void unigramAndOtherModelTypesAreRefusedByName() {
        for (int type : new int[]{1, 3, 4}) {
            byte[] model = concatBytes(field(1, concatBytes(field(1, "<unk>".getBytes()), varintField(3, 2))),
                    field(1, concatBytes(field(1, "a".getBytes()))), field(2, varintField(3, type)));
            var e = assertThrows(LongbowException.class, () -> SentencePieceBpe.fromModelFile(SentencePieceModelFile.parse(model, "m.model"), "m.model"));
            assertTrue(e.getMessage().contains("not supported"), e.getMessage());
        }
    }

    /** Truncated or corrupted files either load or fail with a one-line LongbowException; encoding them may do the same. */
    @Test
    void damagedModelFilesFailWithOneLine() throws Exception {
        byte[] tok105 = Files.readAllBytes(TestData.shared("models/tok105.model"));
        byte[] nfkc = Files.readAllBytes(SentencePieceGoldenTest.GOLDENS.resolve("spm-nfkc-bpe.model"));
        SplittableRandom r = new SplittableRandom(11);
        int loaded = 0, refused = 0;
        List<byte[]> cases = new ArrayList<>();
        for (int len = 0; len < tok105.length; len++) cases.add(Arrays.copyOf(tok105, len));
        for (int k = 0; k < 3000; k++) {
            byte[] base = k % 3 == 0 ? nfkc : tok105;
            byte[] m = base.clone();
            for (int flips = r.nextInt(1, 4), i = 0; i < flips; i++) {
                // Aim half of the damage at the last 20%, where nfkc keeps its character map.
                int at = r.nextBoolean() ? r.nextInt(m.length) : m.length - 1 - r.nextInt(m.length / 5);
                m[at] = (byte) (r.nextBoolean() ? r.nextInt(256) : m[at] ^ (1 << r.nextInt(8)));
            }
            cases.add(m);
        }
        for (byte[] m : cases) {
            try {
                assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
                    Tokenizer t = SentencePieceBpe.fromModelFile(SentencePieceModelFile.parse(m, "damaged.model"), "damaged.model");
                    for (String s : List.of("Hello world", "ＡＢＣ ﬁ …  x", "日本語 😀", "<br> @@@ ab")) t.decode(t.encode(s, true, true));
                });
                loaded++;
            } catch (LongbowException e) {
                refused++;
                assertFalse(e.getMessage().contains("\n"), e.getMessage());
                assertTrue(e.getMessage().startsWith("damaged.model: "), e.getMessage());
            }
        }
        System.out.println(cases.size() + " damaged models: " + loaded + " still load and encode, " + refused + " refused with one line");
        assertTrue(refused > 0 && loaded > 0);
    }

    static byte[] varintField(int number, long value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeVarint(out, (long) number << 3);
        writeVarint(out, value);
        return out.toByteArray();
    }

    static byte[] field(int number, byte[] payload) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeVarint(out, (long) number << 3 | 2);
        writeVarint(out, payload.length);
        out.writeBytes(payload);
        return out.toByteArray();
    }

    static void writeVarint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) (v & 0x7F) | 0x80);
            v >>>= 7;
        }
        out.write((int) v);
    }

    static byte[] concatBytes(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }
}
