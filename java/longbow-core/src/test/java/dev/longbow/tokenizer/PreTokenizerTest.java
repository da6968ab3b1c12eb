package dev.longbow.tokenizer;

import dev.longbow.LongbowException;
import dev.longbow.TestData;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

/** The hand-written GPT-2, Llama 3 and Qwen2 scanners give exactly the pieces their patterns give under java.util.regex. */
class PreTokenizerTest {
    record Case(String name, PreTokenizer fast, RegexPreTokenizer regex) {}

    static final List<Case> CASES = List.of(
            new Case("gpt2", BytePreTokenizers.GPT2, new RegexPreTokenizer(BytePreTokenizers.GPT2_PATTERN)),
            new Case("llama3", BytePreTokenizers.LLAMA3, new RegexPreTokenizer(BytePreTokenizers.LLAMA3_PATTERN)),
            new Case("qwen2", BytePreTokenizers.QWEN2, new RegexPreTokenizer(BytePreTokenizers.QWEN2_PATTERN)));

    static List<String> pieces(PreTokenizer p, String text) {
        return pieces(p, text, 0, text.length());
    }

    static List<String> pieces(PreTokenizer p, String text, int start, int end) {
        List<String> out = new ArrayList<>();
        int[] expectedStart = {start};
        p.split(text, start, end, (s, a, b) -> {
            if (a != expectedStart[0] || b <= a) fail(p + ": piece [" + a + ", " + b + ") does not continue at " + expectedStart[0]);
            expectedStart[0] = b;
            out.add(s.subSequence(a, b).toString());
        });
        assertEquals(end, expectedStart[0], p + ": pieces stop short of the end");
        return out;
    }

    /** Piece ends only, for long texts. */
    static int[] ends(PreTokenizer p, String text) {
        int[][] buf = {new int[1024]};
        int[] n = {0};
        p.split(text, 0, text.length(), (s, a, b) -> {
            if (n[0] == buf[0].length) buf[0] = Arrays.copyOf(buf[0], n[0] * 2);
            buf[0][n[0]++] = b;
        });
        return Arrays.copyOf(buf[0], n[0]);
    }

    static void assertSamePieces(Case c, String text) {
        List<String> expected = pieces(c.regex, text);
        List<String> actual = pieces(c.fast, text);
        if (!expected.equals(actual)) fail(c.name + " differs on " + escape(text) + "\n regex: " + escapeAll(expected) + "\n  fast: " + escapeAll(actual));
    }

    static List<String> vocabTestTexts() throws IOException {
        String all = Files.readString(TestData.shared("vocab/ggml-vocab-gpt-2.gguf.inp"));
        List<String> texts = new ArrayList<>(Arrays.asList(all.split("\n__ggml_vocab_test__\n", -1)));
        assertEquals("", texts.removeLast());
        assertEquals(46, texts.size());
        return texts;
    }

    @Test
    void llamaCppTestTexts() throws IOException {
        List<String> texts = vocabTestTexts();
        for (Case c : CASES) for (String t : texts) assertSamePieces(c, t);
    }

    @Test
    void randomStrings() {
        int n = 0;
        for (Case c : CASES) {
            for (long seed = 1; seed <= 3; seed++) {
                Random r = new Random(seed * 7919 + c.name.hashCode());
                for (int i = 0; i < 2000; i++, n++) assertSamePieces(c, RandomText.next(r, 24, true));
            }
        }
        assertEquals(18000, n);
    }

    @Test
    void realText() throws IOException {
        Path dir = TestData.shared("data");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".txt")).sorted().toList();
        }
        assertEquals(5, files.size(), "text files in " + dir);
        for (Path f : files) {
            String text = Files.readString(f);
            for (Case c : CASES) assertArrayEquals(ends(c.regex, text), ends(c.fast, text), c.name + " on " + f.getFileName());
        }
    }

    /** A range is split as if it were the whole string: nothing past {@code end} is looked at. */
    @Test
    void rangeEndsLikeTextEnds() {
        Random r = new Random(42);
        for (Case c : CASES) {
            for (int i = 0; i < 3000; i++) {
                String text = RandomText.next(r, 16, true);
                int start = text.isEmpty() ? 0 : r.nextInt(text.length() + 1);
                int end = start + r.nextInt(text.length() - start + 1);
                String sub = text.substring(start, end);
                assertEquals(pieces(c.fast, sub), pieces(c.fast, text, start, end), c.name + " range of " + escape(text));
                // java.util.regex reads a surrogate pair across the region end and then fails to match it, unlike the
                // same text cut out as a string; the scanners treat the cut half as a lone surrogate either way.
                if (!cutsPair(text, start) && !cutsPair(text, end))
                    assertEquals(pieces(c.regex, sub), pieces(c.regex, text, start, end), c.name + " regex range of " + escape(text));
            }
        }
        // The case that matters: spaces before a special token keep together, as at the end of the text.
        assertEquals(List.of("a", "  "), pieces(BytePreTokenizers.GPT2, "a  <|eot|>", 0, 3));
        assertEquals(List.of("a", "  "), pieces(new RegexPreTokenizer(BytePreTokenizers.GPT2_PATTERN), "a  <|eot|>", 0, 3));
    }

    static boolean cutsPair(String s, int at) {
        return at > 0 && at < s.length() && Character.isHighSurrogate(s.charAt(at - 1)) && Character.isLowSurrogate(s.charAt(at));
    }

    /** Hand-derived pieces for the rules that are easy to get wrong. */
    @Test
    void knownPieces() {
        PreTokenizer g = BytePreTokenizers.GPT2, l = BytePreTokenizers.LLAMA3, q = BytePreTokenizers.QWEN2;
        // \s+(?!\S): the last space of a run goes with the word after it; a tab cannot, so it stands alone
        assertEquals(List.of("a", "  ", " b"), pieces(g, "a   b"));
        assertEquals(List.of("a", "  ", "\t", "b"), pieces(g, "a  \tb"));
        assertEquals(List.of("a", "   "), pieces(g, "a   "));
        assertEquals(List.of("\n", "x"), pieces(g, "\nx"));
        assertEquals(List.of(" \n", " x"), pieces(g, " \n x")); // GPT-2 has no newline rule
        // contractions: case-sensitive in GPT-2, any case (and long s) in Llama 3
        assertEquals(List.of("don", "'t", " DON", "'", "T"), pieces(g, "don't DON'T"));
        assertEquals(List.of("don", "'t", " DON", "'T"), pieces(l, "don't DON'T"));
        assertEquals(List.of("'\u017F", "t"), pieces(l, "'\u017Ft"));
        assertEquals(List.of("'\u212A"), pieces(l, "'\u212A"));
        assertEquals(List.of("'", "\u017Ft"), pieces(g, "'\u017Ft"));
        // Llama 3: one leading non-letter joins letters; digits in threes (Qwen2: ones) without a leading space
        assertEquals(List.of("Hello", ",", " world", "!"), pieces(l, "Hello, world!"));
        assertEquals(List.of("'hello", " (", "\u3000x", "\tx"), pieces(l, "'hello (\u3000x\tx"));
        assertEquals(List.of("x", " ", "123", "456", "7"), pieces(l, "x 1234567"));
        assertEquals(List.of("x", " ", "1", "2", "3"), pieces(q, "x 123"));
        assertEquals(List.of("x", " 123"), pieces(g, "x 123"));
        // Llama 3: whitespace up to the last newline, punctuation takes following newlines
        assertEquals(List.of("a", " \n\n", " ", " b"), pieces(l, "a \n\n  b"));
        assertEquals(List.of("a", ".\n\n", "b"), pieces(l, "a.\n\nb"));
        assertEquals(List.of("\r\n", "\tx"), pieces(l, "\r\n\tx"));
        assertEquals(List.of(" \r\n", " "), pieces(l, " \r\n "));
        // astral letters and digits are single code points; a lone surrogate is "other"
        assertEquals(List.of("\uD835\uDC00\uD835\uDC01", " \uD835\uDFCE"), pieces(g, "\uD835\uDC00\uD835\uDC01 \uD835\uDFCE"));
        assertEquals(List.of("\uD800x"), pieces(l, "\uD800x"));
        assertEquals(List.of("a", " \uDC00\uD800"), pieces(g, "a \uDC00\uD800"));
    }

    @Test
    void lookUpByNameAndPattern() {
        assertSame(BytePreTokenizers.GPT2, BytePreTokenizers.forPattern(BytePreTokenizers.GPT2_PATTERN));
        assertSame(BytePreTokenizers.LLAMA3, BytePreTokenizers.forPattern(BytePreTokenizers.LLAMA3_PATTERN));
        assertSame(BytePreTokenizers.QWEN2, BytePreTokenizers.forPattern(BytePreTokenizers.QWEN2_PATTERN));
        // tokenizer.json files with the control characters themselves in the pattern
        assertSame(BytePreTokenizers.LLAMA3, BytePreTokenizers.forPattern(BytePreTokenizers.LLAMA3_PATTERN.replace("\\r", "\r").replace("\\n", "\n")));
        // llama.cpp's ASCII-only contractions are a different pattern ('ſ), so they stay a regex
        String asciiCase = BytePreTokenizers.LLAMA3_PATTERN.replace("(?i:'s|'t|'re|'ve|'m|'ll|'d)", "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])");
        PreTokenizer p = BytePreTokenizers.forPattern(asciiCase);
        assertInstanceOf(RegexPreTokenizer.class, p);
        assertEquals(List.of("'\u017Ft"), pieces(p, "'\u017Ft"));
        assertThrows(LongbowException.class, () -> BytePreTokenizers.forPattern("(unclosed"));
    }

    /**
     * Llama 3's case-insensitive contractions for every code point after the apostrophe ({@code 'ſ} matches, the
     * Kelvin sign does not), and for the two-letter ones every BMP code point in either place.
     */
    @Test
    void contractionsForEveryCodePoint() {
        Case llama3 = CASES.get(1);
        for (String form : new String[]{"'X", "'Xe", "'rX", "'vX", "'Xl", "'lX", "x'X "}) {
            int last = form.length() == 2 ? Character.MAX_CODE_POINT : 0xFFFF;
            for (int cp = 0; cp <= last; cp++) {
                if (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE) continue;
                assertSamePieces(llama3, form.replace("X", Character.toString(cp)));
            }
        }
    }

    /** The scanners' classes are java.util.regex's {@code \p{L}}, {@code \p{N}} and {@code \s}, for every code point. */
    @Test
    void characterClassesMatchRegexForEveryCodePoint() {
        Pattern letter = Pattern.compile("\\p{L}", Pattern.UNICODE_CHARACTER_CLASS);
        Pattern digit = Pattern.compile("\\p{N}", Pattern.UNICODE_CHARACTER_CLASS);
        Pattern space = Pattern.compile("\\s", Pattern.UNICODE_CHARACTER_CLASS);
        for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
            String s = Character.toString(cp);
            int expected = letter.matcher(s).matches() ? BytePreTokenizers.LETTER
                    : digit.matcher(s).matches() ? BytePreTokenizers.DIGIT
                    : space.matcher(s).matches() ? BytePreTokenizers.SPACE : BytePreTokenizers.OTHER;
            if (BytePreTokenizers.classOfCodePoint(cp) != expected) fail(String.format("U+%04X: class %d, regex says %d", cp, BytePreTokenizers.classOfCodePoint(cp), expected));
        }
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp >= 0x20 && cp < 0x7F) sb.append((char) cp);
            else sb.append(String.format("\\u{%X}", cp));
        });
        return sb.append('"').toString();
    }

    static String escapeAll(List<String> pieces) {
        return pieces.stream().map(PreTokenizerTest::escape).toList().toString();
    }
}
