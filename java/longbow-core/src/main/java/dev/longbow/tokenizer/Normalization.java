package dev.longbow.tokenizer;

import java.text.Normalizer;

/**
 * Unicode normalisation as tokenizer.json normalizers ask for it. Qwen2's tokenizer.json normalises to NFC before
 * pre-tokenizing; llama.cpp applies no normaliser to byte-level BPE vocabularies, so for text that is not already
 * NFC (decomposed accents, for instance) a Qwen2 GGUF in llama.cpp and Qwen2's tokenizer.json give different tokens.
 */
public final class Normalization {
    private Normalization() {}

    /** {@code text} in Normalization Form C; the same string when it already is, which is the usual case. */
    public static String nfc(String text) {
        // Below U+0300 every character is a starter that composes with nothing before it: NFC as it stands.
        int i = 0, n = text.length();
        while (i < n && text.charAt(i) < 0x300) i++;
        if (i == n) return text;
        return Normalizer.normalize(text, Normalizer.Form.NFC);
    }
}
