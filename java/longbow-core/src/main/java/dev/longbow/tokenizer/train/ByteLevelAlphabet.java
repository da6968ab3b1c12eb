package dev.longbow.tokenizer.train;

/**
 * GPT-2's byte-to-character table: printable Latin-1 bytes stand for themselves, the other 68 bytes (controls,
 * space, NBSP, soft hyphen) for U+0100 onwards in byte order, so every byte string becomes a printable string and
 * a merge rule can be written as text. Private to the trainer until the tokenizer package has a shared copy.
 */
final class ByteLevelAlphabet {
    private static final char[] BYTE_TO_CHAR = new char[256];

    static {
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) next++;
        }
    }

    private ByteLevelAlphabet() {}

    static char charOf(int unsignedByte) {
        return BYTE_TO_CHAR[unsignedByte];
    }
}
