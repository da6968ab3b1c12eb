package dev.longbow.tokenizer;

import dev.longbow.LongbowException;

import java.util.Map;

/**
 * The split patterns of GPT-2, Llama 3 and Qwen2 as hand-written scanners: the same pieces as the patterns give
 * under Hugging Face's Split (behaviour "isolated") or {@link RegexPreTokenizer}, several times faster. Look them
 * up by llama.cpp's {@code tokenizer.ggml.pre} name ({@link #forName}) or by a tokenizer.json pattern
 * ({@link #forPattern}), which falls back to a {@link RegexPreTokenizer} for patterns without a scanner.
 *
 * <p>Character classes, per code point (a surrogate pair is one code point, a lone surrogate is a code point of
 * its own that is neither letter, digit nor space, like U+FFFD): {@code \p{L}} is general category L*,
 * {@code \p{N}} is Nd, Nl or No, {@code \s} is the Unicode White_Space property (U+0009..U+000D, U+0020, U+0085,
 * U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000; not U+001C..U+001F, not U+180E, not
 * U+200B, not U+FEFF), all as java.lang.Character answers them, so they follow the JDK's Unicode version. Hugging Face
 * tokenizers 0.21 (Oniguruma, through DJL 0.38) agrees with JDK 25 on all three for every code point; llama.cpp
 * uses tables of its own.
 *
 * <p>The contractions of Llama 3 and Qwen2, {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)}, match any case, and under
 * Unicode case folding U+017F (long s) also matches {@code s}, in Oniguruma and java.util.regex alike (checked
 * for every code point); no other code point folds to one of these letters (the Kelvin sign folds to k, which no
 * contraction contains). llama.cpp rewrites the group as {@code '[sS]|'[tT]|...}, so there {@code 'ſ} is not a
 * contraction: llama.cpp gives {@code "'ſt"} as one piece where Hugging Face gives {@code "'ſ"}, {@code "t"}.
 *
 * <p>A piece never looks past the end of the range it is asked to split, so {@code \s+(?!\S)} at the end of a range
 * takes the whole run of spaces even when a special token follows: Hugging Face and llama.cpp both pre-tokenize the
 * text between special tokens as separate strings.
 */
public final class BytePreTokenizers {
    private BytePreTokenizers() {}

    /** GPT-2's pattern, as Hugging Face's ByteLevel pre-tokenizer applies it when use_regex is on. */
    public static final String GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    /** Llama 3's pattern as its tokenizer.json writes it. */
    public static final String LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Qwen2's pattern: Llama 3's with single digits. */
    public static final String QWEN2_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** llama.cpp's spelling of the GPT-2 pattern: without the final {@code \s+}, which changes no piece. */
    static final String GPT2_PATTERN_LLAMA_CPP = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

    public static final PreTokenizer GPT2 = new Gpt2Scanner();
    public static final PreTokenizer LLAMA3 = new Llama3Scanner(3, "llama3");
    public static final PreTokenizer QWEN2 = new Llama3Scanner(1, "qwen2");

    /**
     * The pre-tokenizer for a Split pattern (behaviour "isolated", not inverted) from a tokenizer.json: a scanner
     * when the pattern is one of the known ones, else a {@link RegexPreTokenizer}. A line feed or carriage return
     * written into the pattern as the character itself counts the same as {@code \n} or {@code \r}.
     */
    public static PreTokenizer forPattern(String hfPattern) {
        String p = hfPattern.replace("\r", "\\r").replace("\n", "\\n");
        if (p.equals(GPT2_PATTERN) || p.equals(GPT2_PATTERN_LLAMA_CPP)) return GPT2;
        if (p.equals(LLAMA3_PATTERN)) return LLAMA3;
        if (p.equals(QWEN2_PATTERN)) return QWEN2;
        return new RegexPreTokenizer(hfPattern);
    }

    // ---- character classes

    static final byte OTHER = 0, LETTER = 1, DIGIT = 2, SPACE = 3, SURROGATE = 4;
    /** Class of each UTF-16 unit; SURROGATE sends the caller to {@link #classOfCodePoint}. */
    private static final byte[] CLASS_OF_CHAR = new byte[65536];

    static {
        for (int c = 0; c < 65536; c++) CLASS_OF_CHAR[c] = Character.isSurrogate((char) c) ? SURROGATE : classOfCodePoint(c);
    }

    /** OTHER, LETTER, DIGIT or SPACE ({@code \p{L}}, {@code \p{N}}, {@code \s}) of a code point. */
    static byte classOfCodePoint(int cp) {
        int type = Character.getType(cp);
        switch (type) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> {
                return LETTER;
            }
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> {
                return DIGIT;
            }
            case Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> {
                return SPACE;
            }
            default -> {
                // White_Space = Zs, Zl, Zp and these controls (not U+001C..U+001F, which Java's isWhitespace has).
                return (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 ? SPACE : OTHER;
            }
        }
    }

    /** The class of the code point starting at {@code i}; a high surrogate pairs only with a low one before {@code end}. */
    private static int classAt(CharSequence s, int i, int end) {
        int k = CLASS_OF_CHAR[s.charAt(i)];
        return k != SURROGATE ? k : classOfCodePoint(codePointAt(s, i, end));
    }

    private static int codePointAt(CharSequence s, int i, int end) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c) && i + 1 < end) {
            char d = s.charAt(i + 1);
            if (Character.isLowSurrogate(d)) return Character.toCodePoint(c, d);
        }
        return c;
    }

    /** Number of chars of the code point at {@code i}. */
    private static int widthAt(CharSequence s, int i, int end) {
        return Character.isHighSurrogate(s.charAt(i)) && i + 1 < end && Character.isLowSurrogate(s.charAt(i + 1)) ? 2 : 1;
    }

    /** End of the run of code points of class {@code k} that starts at {@code i}. */
    private static int endOfRun(CharSequence s, int i, int end, int k) {
        while (i < end) {
            int c = CLASS_OF_CHAR[s.charAt(i)];
            if (c == SURROGATE) {
                int cp = codePointAt(s, i, end);
                if (classOfCodePoint(cp) != k) break;
                i += Character.charCount(cp);
            } else {
                if (c != k) break;
                i++;
            }
        }
        return i;
    }

    /** End of the run of whitespace at {@code i} (whitespace is all in the BMP, one char per code point). */
    private static int endOfSpaces(CharSequence s, int i, int end) {
        while (i < end && CLASS_OF_CHAR[s.charAt(i)] == SPACE) i++;
        return i;
    }

    /**
     * The end of a contraction {@code 's 't 're 've 'm 'll 'd} at {@code i} (which holds the apostrophe), or -1.
     * With {@code anyCase}, letters match in either case and U+017F matches s.
     */
    private static int contractionEnd(CharSequence s, int i, int end, boolean anyCase) {
        if (i + 1 >= end) return -1;
        char a = s.charAt(i + 1);
        if (anyCase) {
            if (a == '\u017F') return i + 2;
            a = asciiLower(a);
        }
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
        if (i + 2 >= end) return -1;
        char b = s.charAt(i + 2);
        if (anyCase) b = asciiLower(b);
        return (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') ? i + 3 : -1;
    }

    private static char asciiLower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
    }

    /**
     * Where {@code \s+(?!\S)|\s+} ends for the run of whitespace {@code [i, runEnd)}: at the end of the range the
     * whole run; before a non-space all but the last space (which the next piece may take), or the single space.
     */
    private static int spacesPieceEnd(int i, int runEnd, int end) {
        return runEnd == end || runEnd - 1 == i ? runEnd : runEnd - 1;
    }

    // ---- the scanners

    /** {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+} */
    private static final class Gpt2Scanner implements PreTokenizer {
        @Override
        public void split(CharSequence s, int start, int end, Sink sink) {
            int i = start;
            while (i < end) {
                char c = s.charAt(i);
                int pieceEnd = c == '\'' ? contractionEnd(s, i, end, false) : -1;
                if (pieceEnd < 0 && c == ' ' && i + 1 < end) {
                    // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": a space joins the run after it
                    int next = classAt(s, i + 1, end);
                    if (next != SPACE) pieceEnd = endOfRun(s, i + 1, end, next);
                }
                if (pieceEnd < 0) {
                    int k = classAt(s, i, end);
                    pieceEnd = k != SPACE ? endOfRun(s, i, end, k) : spacesPieceEnd(i, endOfSpaces(s, i, end), end);
                }
                sink.piece(s, i, pieceEnd);
                i = pieceEnd;
            }
        }

        @Override
        public String toString() {
            return "gpt2";
        }
    }

    /**
     * {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+}
     */
    private static final class Llama3Scanner implements PreTokenizer {
        private final int maxDigits;
        private final String name;

        Llama3Scanner(int maxDigits, String name) {
            this.maxDigits = maxDigits;
            this.name = name;
        }

        @Override
        public void split(CharSequence s, int start, int end, Sink sink) {
            int i = start;
            while (i < end) {
                int pieceEnd = piece(s, i, end);
                sink.piece(s, i, pieceEnd);
                i = pieceEnd;
            }
        }

        private int piece(CharSequence s, int i, int end) {
            char c = s.charAt(i);
            if (c == '\'') {
                int e = contractionEnd(s, i, end, true);
                if (e >= 0) return e;
            }
            int k = classAt(s, i, end);
            if (k == LETTER) return endOfRun(s, i, end, LETTER);
            if (k != DIGIT && c != '\r' && c != '\n') {
                // one leading non-letter, non-digit code point (space, tab, punctuation, emoji...) before letters
                int w = widthAt(s, i, end);
                if (i + w < end && classAt(s, i + w, end) == LETTER) return endOfRun(s, i + w, end, LETTER);
            }
            if (k == DIGIT) {
                int j = i;
                for (int n = 0; n < maxDigits && j < end && classAt(s, j, end) == DIGIT; n++) j += widthAt(s, j, end);
                return j;
            }
            int othersStart = k == OTHER ? i : c == ' ' && i + 1 < end && classAt(s, i + 1, end) == OTHER ? i + 1 : -1;
            if (othersStart >= 0) {
                int j = endOfRun(s, othersStart, end, OTHER);
                while (j < end && (s.charAt(j) == '\r' || s.charAt(j) == '\n')) j++;
                return j;
            }
            // whitespace: through the last CR or LF of the run if it has one, else as in GPT-2
            int runEnd = endOfSpaces(s, i, end);
            for (int j = runEnd - 1; j >= i; j--) {
                char d = s.charAt(j);
                if (d == '\r' || d == '\n') return j + 1;
            }
            return spacesPieceEnd(i, runEnd, end);
        }

        @Override
        public String toString() {
            return name;
        }
    }

}
