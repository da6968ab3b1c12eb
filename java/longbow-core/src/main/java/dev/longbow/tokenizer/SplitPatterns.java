package dev.longbow.tokenizer;

import dev.longbow.LongbowException;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The split patterns of released byte-level BPE tokenizers, and llama.cpp's {@code tokenizer.ggml.pre} names for
 * them. Every pattern goes through {@link #splitter}, the one place that picks an implementation for it.
 */
public final class SplitPatterns {
    /** GPT-2 (also the built-in pattern of Hugging Face's ByteLevel pre-tokenizer). */
    public static final String GPT2 = BytePreTokenizers.GPT2_PATTERN;
    /** Llama 3: case-insensitive contractions, a letter run may take one leading non-letter, digits in threes. */
    public static final String LLAMA3 = BytePreTokenizers.LLAMA3_PATTERN;
    /** Qwen2: Llama 3's pattern with single digits (its text is NFC-normalised first). */
    public static final String QWEN2 = BytePreTokenizers.QWEN2_PATTERN;

    // llama.cpp spells the GPT-2 pattern without the final "|\s+"; split as Hugging Face's "isolated" behaviour does,
    // a lone whitespace character before a non-space is a piece either way, so the two give the same pieces.
    private static final String GPT2_LLAMA_CPP = BytePreTokenizers.GPT2_PATTERN_LLAMA_CPP;

    /** What a llama.cpp pre-tokenizer name stands for: patterns applied one after another, and the options that go with it. */
    public record Named(String name, List<String> patterns, boolean ignoreMerges, boolean nfc) {}

    private static final Map<String, Named> LLAMA_CPP = new LinkedHashMap<>();

    static {
        // The first name of each group is the one written to GGUF files.
        add(List.of(GPT2), false, false, "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
                "mpt", "olmo", "jais", "exaone4", "a.x-4.0", "mellum", "trillion", "granite-docling");
        add(List.of(LLAMA3), true, false, "llama-bpe", "llama3", "llama-v3", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2");
        // Qwen2 tokenizer.json files NFC-normalise; llama.cpp has no normaliser and skips that step.
        add(List.of(QWEN2), false, true, "qwen2", "deepseek-r1-qwen", "kormo", "megrez", "stablelm2", "hunyuan");
        add(List.of(LLAMA3), false, false, "dbrx", "smaug-bpe", "chatglm-bpe", "glm4");
        add(List.of("\\p{N}", GPT2_LLAMA_CPP), false, false, "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b");
        add(List.of("[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2_LLAMA_CPP, "[0-9][0-9][0-9]"), false, false, "falcon");
        add(List.of("[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2_LLAMA_CPP, "\\p{N}+", "[0-9][0-9][0-9]"), false, false, "default");
    }

    private static void add(List<String> patterns, boolean ignoreMerges, boolean nfc, String... names) {
        for (String n : names) LLAMA_CPP.put(n, new Named(n, patterns, ignoreMerges, nfc));
    }

    private SplitPatterns() {}

    /** The splitter for one pattern, applied as Hugging Face's Split with behaviour "isolated": a hand-written scanner for the known ones. */
    public static PreTokenizer splitter(String pattern) {
        return BytePreTokenizers.forPattern(pattern);
    }

    /** The patterns and options of a llama.cpp pre-tokenizer name; unknown names are an error that lists the known ones. */
    public static Named llamaCpp(String name, String file) {
        Named n = LLAMA_CPP.get(name);
        if (n == null) {
            throw new LongbowException(file + ": pre-tokenizer '" + name + "' is not supported (known: " + String.join(", ", LLAMA_CPP.keySet()) + ")");
        }
        return n;
    }

    /** The llama.cpp name for these patterns and options, or null when llama.cpp has none. */
    public static String llamaCppName(List<String> patterns, boolean ignoreMerges) {
        for (Named n : LLAMA_CPP.values()) {
            if (n.ignoreMerges == ignoreMerges && n.patterns.equals(patterns)) return n.name;
        }
        return null;
    }
}
