package dev.longbow.tokenizer;

import dev.longbow.LongbowException;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A split pattern as Hugging Face's {@code Split} pre-tokenizer (behaviour "isolated") applies it: every match is
 * a piece and so is every stretch of text between matches. Patterns are written for Oniguruma, whose {@code \s},
 * {@code \d} and {@code \w} are Unicode-aware; Java's are ASCII-only unless asked, hence UNICODE_CHARACTER_CLASS.
 */
public final class RegexPreTokenizer implements PreTokenizer {
    private final Pattern pattern;

    public RegexPreTokenizer(String regex) {
        try {
            this.pattern = Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
        } catch (PatternSyntaxException e) {
            throw new LongbowException("pre-tokenizer pattern does not compile: " + e.getDescription() + " in " + regex);
        }
    }

    public String pattern() {
        return pattern.pattern();
    }

    @Override
    public void split(CharSequence text, int start, int end, Sink sink) {
        // Opaque, anchoring bounds: the range is matched as if it were the whole string, as Hugging Face and
        // llama.cpp pre-tokenize the text between special tokens, so \s+(?!\S) and $ see the range's end.
        Matcher m = pattern.matcher(text).region(start, end);
        m.useTransparentBounds(false).useAnchoringBounds(true);
        int last = start;
        while (m.find()) {
            if (m.start() == m.end()) continue; // an empty match splits nothing
            if (m.start() > last) sink.piece(text, last, m.start());
            sink.piece(text, m.start(), m.end());
            last = m.end();
        }
        if (last < end) sink.piece(text, last, end);
    }
}
