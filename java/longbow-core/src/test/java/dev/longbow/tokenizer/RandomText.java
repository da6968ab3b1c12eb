package dev.longbow.tokenizer;

import java.util.Random;

/**
 * Random strings built to hit the corners of the byte-level split patterns: contractions in every case, runs of
 * mixed whitespace with CR and LF, Unicode spaces and their look-alikes, letters, digits and marks of many scripts,
 * astral code points, and (optionally) lone surrogates.
 */
final class RandomText {
    private RandomText() {}

    private static final String[] CONTRACTIONS = {"'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'rE", "'ve", "'VE",
            "'Ve", "'m", "'M", "'ll", "'LL", "'Ll", "'lL", "'d", "'D", "'\u017F", "'\u212A", "'", "''", "'x", "'r",
            "'v", "'l", "'\u0130"};
    private static final String[] SPACES = {" ", " ", " ", "  ", "   ", "\t", "\r", "\n", "\r\n", "\n\n", "\u000B",
            "\u000C", "\u0085", "\u00A0", "\u1680", "\u2000", "\u2005", "\u200A", "\u2028", "\u2029", "\u202F",
            "\u205F", "\u3000"};
    /** Not White_Space, though some look it or are whitespace to Character.isWhitespace. */
    private static final String[] NOT_SPACES = {"\u001C", "\u001D", "\u001E", "\u001F", "\u180E", "\u200B", "\uFEFF",
            "\u0000", "\u007F"};
    private static final String[] LETTERS = {"\u00E9", "\u00DF", "\u00C4", "\u00F1", "\u0153", "\u03B1\u03B2\u03B3",
            "\u03A9", "\u0436\u0438\u0437\u043D\u044C", "\u0627\u0644\u0639", "\u05E9\u05DC\u05D5\u05DD",
            "\u0915\u093F", "\u0928\u092E\u0938\u094D\u0924\u0947", "\u0E20\u0E32\u0E29\u0E32", "\u4E2D\u6587",
            "\uD55C\uAD6D\uC5B4", "\u3072\u3089\u304C\u306A", "\u30AB\u30BF\u30AB\u30CA", "\uD835\uDC00",
            "\uD801\uDC00", "\uD840\uDC0B", "\u02B0", "\u01C5", "\u00AA", "\u017F", "\u212A", "\u0130", "\u0131",
            "\uFF21", "\u3005"};
    private static final String[] DIGITS = {"0", "7", "42", "1234567", "\u0660\u0661\u0662\u0663", "\uFF11\uFF12",
            "\u0967\u0968", "\u00B2", "\u00BD", "\u2162", "\u216B", "\u2460", "\uD835\uDFCE\uD835\uDFCF",
            "\uD83C\uDD01", "\u3007", "\u0E51"};
    private static final String[] MARKS = {"\u0301", "\u0308", "\u20DD", "\u093F", "\u0E31", "\u302A", "\uFE0F",
            "\u200D"};
    private static final String[] EMOJI = {"\uD83E\uDD99", "\uD83D\uDE00", "\uD83D\uDC4D\uD83C\uDFFD",
            "\uD83D\uDC69\u200D\uD83D\uDCBB", "\uD83C\uDDE9\uD83C\uDDEA", "\u2764\uFE0F", "\u00A9", "\u20AC", "\uFFFD"};
    private static final String[] LONE = {"\uD800", "\uDC00", "\uDBFF", "\uDFFF", "\uDC00\uD800"};
    private static final String ASCII_PUNCT = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'";

    /** A string of up to {@code maxParts} random parts. */
    static String next(Random r, int maxParts, boolean loneSurrogates) {
        StringBuilder sb = new StringBuilder();
        int parts = r.nextInt(maxParts + 1);
        for (int p = 0; p < parts; p++) {
            switch (r.nextInt(loneSurrogates ? 14 : 13)) {
                case 0, 1 -> {
                    int n = 1 + r.nextInt(6);
                    for (int k = 0; k < n; k++) sb.append((char) ((r.nextBoolean() ? 'a' : 'A') + r.nextInt(26)));
                }
                case 2 -> sb.append(pick(r, CONTRACTIONS));
                case 3, 4 -> sb.append(pick(r, SPACES));
                case 5 -> sb.append(pick(r, NOT_SPACES));
                case 6 -> sb.append(pick(r, LETTERS));
                case 7 -> sb.append(pick(r, DIGITS));
                case 8 -> sb.append(pick(r, MARKS));
                case 9 -> sb.append(pick(r, EMOJI));
                case 10 -> sb.append(ASCII_PUNCT.charAt(r.nextInt(ASCII_PUNCT.length())));
                case 11 -> sb.append((char) ('0' + r.nextInt(10)));
                case 12 -> {
                    // any code point but a surrogate: unassigned, private use, noncharacters included
                    int cp;
                    do cp = r.nextInt(r.nextBoolean() ? 0x3000 : 0x110000);
                    while (cp >= 0xD800 && cp <= 0xDFFF);
                    sb.appendCodePoint(cp);
                }
                default -> sb.append(pick(r, LONE));
            }
        }
        return sb.toString();
    }

    private static String pick(Random r, String[] options) {
        return options[r.nextInt(options.length)];
    }
}
