package dev.longbow.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The normalisers and pre-tokenizer steps a BPE tokenizer runs before its merges, with the semantics of the Hugging
 * Face tokenizers components of the same names (normalizer {@code NFC}, {@code Prepend}, {@code Replace}; pre-tokenizer
 * {@code Split}, {@code ByteLevel}, {@code Metaspace}, {@code Digits}).
 */
final class TextSteps {
    private TextSteps() {}

    interface Normalizer {
        String apply(String s);
    }

    /** Receives one piece; {@code atStart} says whether it begins at the very start of the input text. */
    interface Sink {
        void piece(CharSequence text, int start, int end, boolean atStart);
    }

    /** One pre-tokenizer: splits (and may rewrite) a piece, passing the results on. */
    interface Step {
        void split(CharSequence text, int start, int end, boolean atStart, Sink next);
    }

    /** Hugging Face's SplitDelimiterBehavior: what becomes of a match. */
    enum Behavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    enum PrependScheme { FIRST, ALWAYS, NEVER }

    // ---- normalisers ----

    static Normalizer unicode(java.text.Normalizer.Form form) {
        return s -> {
            // Below U+00A0 nothing changes under any form; most text never reaches the JDK normaliser.
            for (int i = 0; i < s.length(); i++) {
                if (s.charAt(i) >= 0xA0) return java.text.Normalizer.normalize(s, form);
            }
            return s;
        };
    }

    /** Hugging Face's Prepend: only text that is not empty gets the prefix. */
    static Normalizer prepend(String prefix) {
        return s -> s.isEmpty() ? s : prefix + s;
    }

    static Normalizer replace(Pattern pattern, String content) {
        String quoted = Matcher.quoteReplacement(content);
        return s -> pattern.matcher(s).replaceAll(quoted);
    }

    static Normalizer replaceLiteral(String pattern, String content) {
        return s -> s.replace(pattern, content);
    }

    static Normalizer normalizers(List<Normalizer> parts) {
        List<Normalizer> list = List.copyOf(parts);
        return s -> {
            for (Normalizer n : list) s = n.apply(s);
            return s;
        };
    }

    // ---- pre-tokenizer steps ----

    /** Split with behaviour "isolated", not inverted: the common case, through a {@link PreTokenizer}. */
    static Step isolated(PreTokenizer splitter) {
        return (text, start, end, atStart, next) -> splitter.split(text, start, end, (t, s, e) -> next.piece(t, s, e, atStart && s == start));
    }

    static Step split(Pattern pattern, Behavior behavior, boolean invert) {
        return (text, start, end, atStart, next) -> splitSpans(text, start, end, atStart, pattern, behavior, invert, next);
    }

    /** Hugging Face's ByteLevel pre-tokenizer; the mapping to the byte alphabet itself is the model's business here. */
    static Step byteLevel(boolean addPrefixSpace, boolean useRegex) {
        Step gpt2 = useRegex ? isolated(SplitPatterns.splitter(SplitPatterns.GPT2)) : null;
        return (text, start, end, atStart, next) -> {
            CharSequence t = text;
            int s = start, e = end;
            if (addPrefixSpace && (start == end || text.charAt(start) != ' ')) {
                t = " " + text.subSequence(start, end);
                s = 0;
                e = t.length();
            }
            if (gpt2 != null) gpt2.split(t, s, e, atStart, next);
            else next.piece(t, s, e, atStart);
        };
    }

    static Step metaspace(char replacement, PrependScheme scheme, boolean split) {
        Pattern delimiter = Pattern.compile(Pattern.quote(String.valueOf(replacement)));
        return (text, start, end, atStart, next) -> {
            String t = text.subSequence(start, end).toString().replace(' ', replacement);
            boolean prepend = switch (scheme) {
                case ALWAYS -> true;
                case FIRST -> atStart;
                case NEVER -> false;
            };
            if (prepend && (t.isEmpty() || t.charAt(0) != replacement)) t = replacement + t;
            if (split) splitSpans(t, 0, t.length(), atStart, delimiter, Behavior.MERGED_WITH_NEXT, false, next);
            else next.piece(t, 0, t.length(), atStart);
        };
    }

    private static final Pattern NUMERIC = Pattern.compile("\\p{N}");

    /** Hugging Face's Digits: numeric characters apart from the rest, one by one or in runs. */
    static Step digits(boolean individual) {
        return split(NUMERIC, individual ? Behavior.ISOLATED : Behavior.CONTIGUOUS, false);
    }

    static Step steps(List<Step> steps) {
        List<Step> list = List.copyOf(steps);
        return (text, start, end, atStart, next) -> run(list, 0, text, start, end, atStart, next);
    }

    private static void run(List<Step> steps, int i, CharSequence text, int start, int end, boolean atStart, Sink last) {
        if (i == steps.size()) {
            last.piece(text, start, end, atStart);
            return;
        }
        Step step = steps.get(i);
        step.split(text, start, end, atStart, (t, s, e, a) -> run(steps, i + 1, t, s, e, a, last));
    }

    /** Splits at the matches of {@code pattern}, then treats matches as {@code behavior} says (Hugging Face's NormalizedString::split). */
    static void splitSpans(CharSequence text, int start, int end, boolean atStart, Pattern pattern, Behavior behavior, boolean invert, Sink next) {
        List<int[]> spans = new ArrayList<>(); // {start, end, isMatch}
        Matcher m = pattern.matcher(text).region(start, end);
        m.useTransparentBounds(true).useAnchoringBounds(false);
        int prev = start;
        while (m.find()) {
            if (m.start() == m.end()) continue;
            if (m.start() > prev) spans.add(new int[]{prev, m.start(), invert ? 1 : 0});
            spans.add(new int[]{m.start(), m.end(), invert ? 0 : 1});
            prev = m.end();
        }
        if (prev < end) spans.add(new int[]{prev, end, invert ? 1 : 0});
        List<int[]> out = new ArrayList<>();
        switch (behavior) {
            case ISOLATED -> out.addAll(spans);
            case REMOVED -> {
                for (int[] s : spans) if (s[2] == 0) out.add(s);
            }
            case CONTIGUOUS, MERGED_WITH_PREVIOUS -> {
                boolean previousMatch = false;
                for (int[] s : spans) {
                    boolean match = s[2] == 1;
                    boolean join = behavior == Behavior.CONTIGUOUS ? match == previousMatch : match && !previousMatch;
                    if (join && !out.isEmpty()) out.getLast()[1] = s[1];
                    else out.add(new int[]{s[0], s[1], 0});
                    previousMatch = match;
                }
            }
            case MERGED_WITH_NEXT -> {
                boolean previousMatch = false;
                for (int i = spans.size() - 1; i >= 0; i--) {
                    int[] s = spans.get(i);
                    boolean match = s[2] == 1;
                    if (match && !previousMatch && !out.isEmpty()) out.getLast()[0] = s[0];
                    else out.add(new int[]{s[0], s[1], 0});
                    previousMatch = match;
                }
                java.util.Collections.reverse(out);
            }
        }
        for (int[] s : out) if (s[1] > s[0]) next.piece(text, s[0], s[1], atStart && s[0] == start);
    }
}
