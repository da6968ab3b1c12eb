package dev.longbow.tokenizer;

import dev.longbow.TestData;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** The texts byte-level tokenizers are compared on: snippets of real English text plus edge cases. */
final class BpeTestTexts {
    private BpeTestTexts() {}

    static final List<String> DATA_FILES = List.of("moby-dick-pg2701.txt", "pride-and-prejudice-pg1342.txt", "tinyshakespeare.txt",
            "tinystories-valid-500stories.txt", "tinystories-valid-800k.txt");

    /** Special-token spellings of GPT-2, Qwen2 and Llama 3, alone and in context. */
    static final List<String> SPECIAL_SPELLINGS = List.of("<|endoftext|>", "Hello<|endoftext|>world", "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>", "<|end_of_text|>", "<|eot_id|><|eot_id|>",
            "text <|reserved_special_token_7|> more", "<|im_end|> trailing", "<|endoftext|><|endoftext|>", "<|im_start", "im_end|>", "<|endoftext",
            "< |endoftext| >", "<s>Hello</s>");

    static List<String> edgeCases() {
        List<String> t = new ArrayList<>(List.of("", " ", "a", "Hello world", "Hello World!", "hello, world", " leading space", "trailing space ",
                "\t", "\ttab\tseparated\t", "a\tb", "\n", "\r\n", "line one\nline two\r\nline three\n\n\nfour", " \n \n ", "\n\n\n\n\n\n",
                "🍕", "I love 🍕 and 🦙!", "👨‍👩‍👧‍👦 family", "😀😃😄😁", "🏳️‍🌈", "日本語のテキストです。", "中文字符测试，你好世界！", "한국어 텍스트", "Привет, мир!",
                "مرحبا بالعالم", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Γειά σου Κόσμε", "Hello世界мир🌍mixed", "Ünïcödé ñoño façade café naïve",
                "Äpfel und Öl", "Cửa Việt", "\u0000\u0001\u001f\u007f", "null\u0000byte", "bell\u0007 and escape\u001b[0m", "\u0085next line",
                "1234567890", "12345678901234567890123456789", "3.14159265358979", "1,000,000", "0x1F4A9", "v1.2.3-beta", "2024-01-31T12:00:00Z",
                "I'm", "I'M", "You'RE", "they'Ve", "DON'T", "it'S", "we'll've", "She'd", "'s", "'S'", "o'clock", "rock 'n' roll", "‘curly’ “quotes”",
                "non\u00a0breaking", "em\u2003space", "ideographic\u3000space", "zero\u200bwidth", "line\u2028separator", "thin\u2009space",
                "e\u0301", "cafe\u0301", "a\u0308o\u0308u\u0308", "n\u0303", "Cu\u031b\u0309a Vie\u0323\u0302t", "\u0301leading mark", "x\u0300\u0301\u0302\u0303",
                "ﬁ ligature", "Ⅻ roman", "①②③", "²³", "Ｆｕｌｌｗｉｄｔｈ", "ſ long s 'ſ", "İstanbul", "ß STRASSE", "ǅ titlecase",
                "def f(x):\n    return x * 2\n", "if (a && b) { c = d[i] + 1; }", "<html><body>Hi</body></html>", "https://example.com/path?q=1&r=2",
                "email@example.com", "#hashtag @mention", "$100.00 + 20% = ???", "...!!!???", "----", "====", "~~~", "a---b", "a  b   c    d",
                "lone\ud800surrogate", "\udc00start", "end\ud83d", "ok \ud83c\udf55 pair", "a".repeat(1000), "ab".repeat(300), "1".repeat(200),
                " ".repeat(100) + "x", "\n".repeat(50), "word ".repeat(150)));
        for (int n = 1; n <= 20; n++) {
            t.add(" ".repeat(n));
            t.add("x" + " ".repeat(n) + "y");
            t.add("\n".repeat(n));
            t.add("a" + "\n".repeat(n) + "b");
        }
        for (int n = 1; n <= 5; n++) t.add("\t".repeat(n) + "t" + " \t".repeat(n));
        t.addAll(SPECIAL_SPELLINGS);
        return t;
    }

    /** Deterministic snippets of the shared English texts, of varied length, cut at code point boundaries. */
    static List<String> snippets(int perFile) throws IOException {
        List<String> out = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(20240601);
        for (String f : DATA_FILES) {
            Path p = TestData.shared("data/" + f);
            String all = Files.readString(p, StandardCharsets.UTF_8);
            for (int i = 0; i < perFile; i++) {
                int len = 10 + r.nextInt(i % 5 == 0 ? 1200 : 300);
                int start = (int) ((long) all.length() * i / perFile);
                int end = Math.min(all.length(), start + len);
                if (Character.isLowSurrogate(all.charAt(start))) start++;
                if (end < all.length() && Character.isLowSurrogate(all.charAt(end))) end++;
                out.add(all.substring(start, end));
            }
        }
        return out;
    }

    static List<String> all() throws IOException {
        List<String> t = new ArrayList<>(edgeCases());
        t.addAll(snippets(50));
        return t;
    }

    private static final String[] POOL = {"a", "e", "s", "t", "Z", "Q", " ", " ", " ", "  ", "\n", "\r\n", "\t", "'", "'s", "'LL", "'Re", "0", "7",
            "123", ".", ",", "!", "?", "-", "_", "(", ")", "<|", "|>", "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "é", "e\u0301", "ñ", "ü", "ſ",
            "日", "本", "語", "한", "д", "ж", "ا", "ह", "ि", "🍕", "🦙", "\u200d", "\u00a0", "\u3000", "\u2028", "\u0000", "\u007f", "\u0085",
            "Ⅻ", "²", "ﬁ", "the", " the", "ing", "Hello", " world", "\ud800", "\udfff"};

    /** A random string from a pool chosen to meet the split patterns' corner cases. */
    static String random(SplittableRandom r) {
        int parts = 1 + r.nextInt(24);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < parts; i++) {
            if (r.nextInt(8) == 0) sb.appendCodePoint(0x20 + r.nextInt(0x3000)); // anything in the BMP's lower part
            else sb.append(POOL[r.nextInt(POOL.length)]);
        }
        return sb.toString();
    }

    /** What Hugging Face tokenizers sees of a Java string: unpaired surrogates as U+FFFD (see the DJL note). */
    static String forRust(String s) {
        return BpeTokenizer.withoutLoneSurrogates(s);
    }
}
