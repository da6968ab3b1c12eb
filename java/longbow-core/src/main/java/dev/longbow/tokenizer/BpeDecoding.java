package dev.longbow.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Token strings back to text as a Hugging Face decoder chain does ({@code ByteLevel}, {@code Metaspace},
 * {@code ByteFallback}, {@code Fuse}, {@code Strip}, {@code Replace}, nested {@code Sequence}s flattened). Whole
 * sequences decode exactly as Hugging Face's {@code decode(ids, skip_special_tokens=false)}; the streaming form turns
 * one token at a time into bytes, and agrees with it except where the chain needs to see later tokens (a {@code Strip}
 * from the end, a {@code Replace} across a token boundary, the replacement-character count of broken byte runs).
 */
final class BpeDecoding {
    sealed interface Step permits ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace {}

    record ByteLevel() implements Step {}

    /** Replacement character back to a space; on the first token it is dropped unless the scheme is "never". */
    record Metaspace(char replacement, boolean stripFirst) implements Step {}

    record ByteFallback() implements Step {}

    record Fuse() implements Step {}

    record Strip(char content, int start, int stop) implements Step {}

    /** {@code pattern} is a literal unless {@code regex}. */
    record Replace(String pattern, boolean regex, String content) implements Step {}

    static final BpeDecoding BYTE_LEVEL = new BpeDecoding(List.of(new ByteLevel()));
    static final BpeDecoding SENTENCEPIECE = new BpeDecoding(List.of(new Replace("\u2581", false, " "), new ByteFallback(), new Fuse(), new Strip(' ', 1, 0)));

    private final List<Step> steps; // null: no decoder, tokens are joined with spaces as Hugging Face does
    private final List<Pattern> patterns = new ArrayList<>();

    BpeDecoding(List<Step> steps) {
        this.steps = steps == null ? null : List.copyOf(steps);
        if (steps != null) {
            for (Step s : steps) patterns.add(s instanceof Replace r && r.regex ? Pattern.compile(r.pattern) : null);
        }
    }

    List<Step> steps() {
        return steps;
    }

    /** The text of a whole sequence of token strings. */
    String decode(List<String> tokens) {
        if (steps == null) return String.join(" ", tokens);
        List<String> cur = new ArrayList<>(tokens);
        for (int k = 0; k < steps.size(); k++) {
            Step step = steps.get(k);
            List<String> next = new ArrayList<>(cur.size());
            switch (step) {
                case ByteLevel b -> {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    for (String t : cur) out.writeBytes(byteLevelBytes(t));
                    next.add(out.toString(StandardCharsets.UTF_8));
                }
                case Metaspace m -> {
                    for (int i = 0; i < cur.size(); i++) next.add(metaspace(cur.get(i), m, i == 0));
                }
                case ByteFallback b -> {
                    ByteArrayOutputStream run = new ByteArrayOutputStream();
                    for (String t : cur) {
                        int v = byteValue(t);
                        if (v >= 0) {
                            run.write(v);
                            continue;
                        }
                        flushByteRun(run, next);
                        next.add(t);
                    }
                    flushByteRun(run, next);
                }
                case Fuse f -> next.add(String.join("", cur));
                case Strip s -> {
                    for (String t : cur) next.add(strip(t, s, true, true));
                }
                case Replace r -> {
                    Pattern p = patterns.get(k);
                    for (String t : cur) next.add(replace(t, r, p));
                }
            }
            cur = next;
        }
        return String.join("", cur);
    }

    /** Hugging Face's ByteFallback: a run of byte tokens becomes its text, or one U+FFFD per byte when it is not UTF-8. */
    private static void flushByteRun(ByteArrayOutputStream run, List<String> next) {
        if (run.size() == 0) return;
        byte[] b = run.toByteArray();
        run.reset();
        var decoder = StandardCharsets.UTF_8.newDecoder();
        try {
            next.add(decoder.decode(java.nio.ByteBuffer.wrap(b)).toString());
        } catch (java.nio.charset.CharacterCodingException e) {
            for (int i = 0; i < b.length; i++) next.add("\uFFFD");
        }
    }

    /** The bytes one token contributes when decoding a stream, {@code first} for the first token of the sequence. */
    void appendStreaming(String token, boolean first, ByteArrayOutputStream out) {
        if (steps == null) {
            if (!first) out.write(' ');
            out.writeBytes(token.getBytes(StandardCharsets.UTF_8));
            return;
        }
        String text = token;
        byte[] bytes = null; // once a step has produced bytes, later string steps no longer apply
        boolean fused = false; // after Fuse or ByteLevel, Strip works on the whole text: only its start is seen here
        for (int k = 0; k < steps.size(); k++) {
            Step step = steps.get(k);
            switch (step) {
                case ByteLevel b -> {
                    if (bytes == null) bytes = byteLevelBytes(text);
                    fused = true;
                }
                case Metaspace m -> {
                    if (bytes == null) text = metaspace(text, m, first);
                }
                case ByteFallback b -> {
                    int v = bytes == null ? byteValue(text) : -1;
                    if (v >= 0) bytes = new byte[]{(byte) v};
                }
                case Fuse f -> fused = true;
                case Strip s -> {
                    if (bytes == null) text = fused ? (first ? strip(text, s, true, false) : text) : strip(text, s, true, true);
                    else if (fused && first && s.start > 0) bytes = stripBytes(bytes, s);
                }
                case Replace r -> {
                    if (bytes == null) text = replace(text, r, patterns.get(k));
                }
            }
        }
        out.writeBytes(bytes != null ? bytes : text.getBytes(StandardCharsets.UTF_8));
    }

    /** Hugging Face's ByteLevel decoder per token: its bytes if every character is in the alphabet, else its UTF-8. */
    static byte[] byteLevelBytes(String token) {
        byte[] b = dev.longbow.tokenizer.ByteLevel.fromByteLevelOrNull(token);
        return b != null ? b : token.getBytes(StandardCharsets.UTF_8);
    }

    private static String metaspace(String t, Metaspace m, boolean first) {
        if (t.indexOf(m.replacement) < 0) return t;
        StringBuilder sb = new StringBuilder(t.length());
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c != m.replacement) sb.append(c);
            else if (!(first && m.stripFirst)) sb.append(' ');
        }
        return sb.toString();
    }

    private static String strip(String t, Strip s, boolean fromStart, boolean fromEnd) {
        int a = 0, b = t.length();
        if (fromStart) while (a < b && a < s.start && t.charAt(a) == s.content) a++;
        if (fromEnd) for (int n = 0; b > a && n < s.stop && t.charAt(b - 1) == s.content; n++) b--;
        return t.substring(a, b);
    }

    private static byte[] stripBytes(byte[] b, Strip s) {
        if (s.content >= 0x80) return b;
        int a = 0;
        while (a < b.length && a < s.start && b[a] == s.content) a++;
        return a == 0 ? b : java.util.Arrays.copyOfRange(b, a, b.length);
    }

    private static String replace(String t, Replace r, Pattern p) {
        return p != null ? p.matcher(t).replaceAll(Matcher.quoteReplacement(r.content)) : t.replace(r.pattern, r.content);
    }

    /** 0..255 for a token spelled {@code <0xNN>} (either case of hex digits), else -1. */
    static int byteValue(String t) {
        if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') return -1;
        int hi = hexDigit(t.charAt(3)), lo = hexDigit(t.charAt(4));
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    private static int hexDigit(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    }
}
