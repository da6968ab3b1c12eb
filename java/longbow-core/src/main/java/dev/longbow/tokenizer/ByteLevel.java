package dev.longbow.tokenizer;

import dev.longbow.LongbowException;

/**
 * GPT-2's byte-level alphabet: each of the 256 byte values is written as one printable character, so that byte-level
 * BPE vocabularies (GPT-2, Llama 3, Qwen2 {@code vocab.json} and GGUF token lists) can hold arbitrary bytes as text.
 * Bytes that are printable Latin-1 ({@code !}..{@code ~}, {@code ¡}..{@code ¬}, {@code ®}..{@code ÿ}) stand for
 * themselves; the other 68 (controls, space, DEL, the C1 range, NBSP and soft hyphen) take U+0100, U+0101, ... in
 * byte order, so the space byte 0x20 is {@code Ġ} (U+0120) and the newline byte 0x0A is {@code Ċ} (U+010A).
 * Every character of the alphabet is below U+0144, a single UTF-16 unit.
 */
public final class ByteLevel {
    private ByteLevel() {}

    private static final char[] CHAR_OF_BYTE = new char[256];
    /** Indexed by character (below {@link #ALPHABET_END}); -1 where the character is not in the alphabet. */
    private static final short[] BYTE_OF_CHAR;
    private static final int ALPHABET_END = 0x144;

    static {
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            CHAR_OF_BYTE[b] = (char) (printable ? b : next++);
        }
        BYTE_OF_CHAR = new short[ALPHABET_END];
        java.util.Arrays.fill(BYTE_OF_CHAR, (short) -1);
        for (int b = 0; b < 256; b++) BYTE_OF_CHAR[CHAR_OF_BYTE[b]] = (short) b;
    }

    /** The character that stands for byte {@code b} (only its low 8 bits count, so a signed byte works). */
    public static char charOf(int b) {
        return CHAR_OF_BYTE[b & 0xFF];
    }

    /** The byte (0..255) that {@code c} stands for, or -1 when {@code c} is not in the alphabet. */
    public static int byteOf(char c) {
        return c < ALPHABET_END ? BYTE_OF_CHAR[c] : -1;
    }

    /** The byte-level spelling of {@code bytes[off, off + len)}, one character per byte. */
    public static String toByteLevel(byte[] bytes, int off, int len) {
        char[] chars = new char[len];
        for (int i = 0; i < len; i++) chars[i] = CHAR_OF_BYTE[bytes[off + i] & 0xFF];
        return new String(chars);
    }

    public static String toByteLevel(byte[] bytes) {
        return toByteLevel(bytes, 0, bytes.length);
    }

    /** Appends the byte-level spelling of {@code bytes[off, off + len)} to {@code out}. */
    public static void appendByteLevel(byte[] bytes, int off, int len, StringBuilder out) {
        for (int i = 0; i < len; i++) out.append(CHAR_OF_BYTE[bytes[off + i] & 0xFF]);
    }

    /** The bytes a byte-level string stands for; a character outside the alphabet is a LongbowException. */
    public static byte[] fromByteLevel(CharSequence s) {
        byte[] bytes = fromByteLevelOrNull(s);
        if (bytes == null) {
            int at = 0;
            while (byteOf(s.charAt(at)) >= 0) at++;
            throw new LongbowException(String.format("byte-level token \"%s\" has U+%04X at index %d, which is not a byte-level character", s, (int) s.charAt(at), at));
        }
        return bytes;
    }

    /**
     * The bytes a byte-level string stands for, or null when some character is outside the alphabet. Hugging Face's
     * ByteLevel decoder then takes the token's own UTF-8 bytes instead (added tokens are often stored that way),
     * llama.cpp writes {@code [UNK_BYTE_0x..]} for each such character; the caller chooses.
     */
    public static byte[] fromByteLevelOrNull(CharSequence s) {
        byte[] bytes = new byte[s.length()];
        for (int i = 0; i < bytes.length; i++) {
            int b = byteOf(s.charAt(i));
            if (b < 0) return null;
            bytes[i] = (byte) b;
        }
        return bytes;
    }
}
