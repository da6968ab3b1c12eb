package dev.longbow.server;

import dev.longbow.tokenizer.TokenDecoder;
import dev.longbow.tokenizer.Tokenizer;

/**
 * The text of a single token as log-probabilities report it, the chosen token and its alternatives alike: decoded
 * as it reads after ordinary text ("▁the" is " the", not the "the" a sequence would start with). A token holding
 * part of a character reads as U+FFFD; a control token that decodes to nothing reads as its vocabulary entry.
 */
final class TokenTexts {
    private final Tokenizer tokenizer;
    /** A token of plain text decoded first, so the token of interest is not the first of its sequence. */
    private final int anchor;

    TokenTexts(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
        int[] a = tokenizer.encode("a", false, false);
        this.anchor = a.length == 1 ? a[0] : -1;
    }

    String text(int id) {
        TokenDecoder d = tokenizer.decoder();
        if (anchor >= 0) d.next(anchor);
        String s = d.next(id) + d.flush();
        return s.isEmpty() ? tokenizer.piece(id) : s;
    }
}
