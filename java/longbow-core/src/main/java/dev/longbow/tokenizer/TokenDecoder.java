package dev.longbow.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns a stream of token ids into text, emitting a multi-byte character only once all its bytes (which byte
 * fallback may spread over several tokens) have arrived. One decoder per sequence; not thread-safe.
 */
public final class TokenDecoder {
    /** How one token contributes bytes, given the token before it. */
    public interface Pieces {
        /** Appends the bytes of {@code token} (following {@code previous}, -1 at the start) to {@code out}. */
        void append(int previous, int token, ByteArrayOutputStream out);

        /** Appends whatever the end of the sequence completes (bytes held back while a character was unfinished). */
        default void finish(ByteArrayOutputStream out) {}
    }

    private final Pieces pieces;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private int previous = -1;

    public TokenDecoder(Pieces pieces) {
        this.pieces = pieces;
    }

    /** The text completed by {@code token} (possibly empty). */
    public String next(int token) {
        pieces.append(previous, token, pending);
        previous = token;
        byte[] b = pending.toByteArray();
        int complete = completePrefix(b);
        pending.reset();
        pending.write(b, complete, b.length - complete);
        return complete == 0 ? "" : new String(b, 0, complete, StandardCharsets.UTF_8);
    }

    /** Whatever is left at the end of the sequence; an unfinished character becomes U+FFFD. */
    public String flush() {
        pieces.finish(pending);
        String s = pending.size() == 0 ? "" : pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        return s;
    }

    /** Length of the longest prefix that does not end inside an unfinished (but so far valid) UTF-8 sequence. */
    static int completePrefix(byte[] b) {
        int n = b.length;
        // Look back at most 3 bytes for the start of the last sequence.
        for (int back = 1; back <= Math.min(4, n); back++) {
            int c = b[n - back] & 0xFF;
            if ((c & 0xC0) == 0x80) continue; // continuation byte: keep looking for the lead
            int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            return back < len ? n - back : n;
        }
        return n;
    }
}
