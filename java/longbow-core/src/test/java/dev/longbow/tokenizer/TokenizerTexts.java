package dev.longbow.tokenizer;

/** Helpers for tokenizer tests. */
final class TokenizerTexts {
    private TokenizerTexts() {}

    /** A text for a failure message: quoted, control characters and non-ASCII escaped, long ones cut. */
    static String show(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length() && sb.length() < 200; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x7F) sb.append(c);
            else sb.append(String.format("\\u%04x", (int) c));
        }
        return sb.append(s.length() > 190 ? "...\"" : "\"").toString();
    }
}
