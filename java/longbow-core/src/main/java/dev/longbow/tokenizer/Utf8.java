package dev.longbow.tokenizer;

/** UTF-8 helpers with sentencepiece's exact rules for what counts as one character. */
final class Utf8 {
    private Utf8() {}

    /** sentencepiece's OneCharLen: the sequence length the lead byte announces (1 for stray continuation bytes). */
    static int oneCharLength(byte lead) {
        int b = lead & 0xFF;
        return b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    }

    /**
     * Length of the well-formed character at {@code b[pos]} (1 to 4), or 0 when it is malformed: truncated, a bad
     * continuation byte, overlong, a surrogate or above U+10FFFF (sentencepiece's DecodeUTF8).
     */
    static int validCharLength(byte[] b, int pos, int end) {
        int c0 = b[pos] & 0xFF;
        if (c0 < 0x80) return 1;
        int len = end - pos;
        if ((c0 & 0xE0) == 0xC0) {
            if (len < 2 || !trail(b[pos + 1])) return 0;
            int cp = (c0 & 0x1F) << 6 | (b[pos + 1] & 0x3F);
            return cp >= 0x80 ? 2 : 0;
        }
        if ((c0 & 0xF0) == 0xE0) {
            if (len < 3 || !trail(b[pos + 1]) || !trail(b[pos + 2])) return 0;
            int cp = (c0 & 0x0F) << 12 | (b[pos + 1] & 0x3F) << 6 | (b[pos + 2] & 0x3F);
            return cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF) ? 3 : 0;
        }
        if ((c0 & 0xF8) == 0xF0) {
            if (len < 4 || !trail(b[pos + 1]) || !trail(b[pos + 2]) || !trail(b[pos + 3])) return 0;
            int cp = (c0 & 0x07) << 18 | (b[pos + 1] & 0x3F) << 12 | (b[pos + 2] & 0x3F) << 6 | (b[pos + 3] & 0x3F);
            return cp >= 0x10000 && cp <= 0x10FFFF ? 4 : 0;
        }
        return 0;
    }

    static boolean trail(byte b) {
        return (b & 0xC0) == 0x80;
    }

    /**
     * The UTF-8 bytes of {@code s[from, to)}, with every unpaired surrogate written as U+FFFD. (String.getBytes would
     * write '?', which tokenizes as a question mark; U+FFFD is what Rust's from_utf16_lossy, and so Hugging Face
     * tokenizers, make of it, and what sentencepiece makes of a malformed byte.)
     */
    static byte[] encode(CharSequence s, int from, int to) {
        byte[] out = new byte[maxEncodedLength(from, to)];
        int n = encodeInto(s, from, to, out);
        return n == out.length ? out : java.util.Arrays.copyOf(out, n);
    }

    /** Bytes {@link #encodeInto} may write for {@code s[from, to)}: three per UTF-16 unit at most. */
    static int maxEncodedLength(int from, int to) {
        return (to - from) * 3;
    }

    /** As {@link #encode}, into {@code out} (at least {@link #maxEncodedLength} long); returns the length written. */
    static int encodeInto(CharSequence s, int from, int to, byte[] out) {
        int n = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                out[n++] = (byte) c;
            } else if (c < 0x800) {
                out[n++] = (byte) (0xC0 | c >> 6);
                out[n++] = (byte) (0x80 | c & 0x3F);
            } else if (Character.isHighSurrogate(c) && i + 1 < to && Character.isLowSurrogate(s.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, s.charAt(++i));
                out[n++] = (byte) (0xF0 | cp >> 18);
                out[n++] = (byte) (0x80 | cp >> 12 & 0x3F);
                out[n++] = (byte) (0x80 | cp >> 6 & 0x3F);
                out[n++] = (byte) (0x80 | cp & 0x3F);
            } else {
                if (Character.isSurrogate(c)) c = '\uFFFD';
                out[n++] = (byte) (0xE0 | c >> 12);
                out[n++] = (byte) (0x80 | c >> 6 & 0x3F);
                out[n++] = (byte) (0x80 | c & 0x3F);
            }
        }
        return n;
    }
}
