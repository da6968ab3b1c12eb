package dev.longbow.tokenizer;

import java.util.List;

/**
 * Everything that defines a BPE tokenizer of one of the two common shapes, as plain data: what {@link BpeTokenizer#of}
 * builds from, {@link HfTokenizerJson#write} writes, and a BPE trainer produces.
 *
 * @param flavour       how text reaches the merges (see {@link Flavour})
 * @param vocab         token strings by id, as the vocabulary files spell them (byte-level alphabet or {@code ▁} form)
 * @param merges        merges in priority order (first = rank 0); both sides and their concatenation must be in vocab
 * @param addedTokens   tokens matched in the text before BPE; ids may lie inside or after vocab
 * @param splitPatterns byte-level only: split patterns applied one after the other (usually one)
 * @param nfc           byte-level only: NFC-normalise text first (Qwen2)
 * @param ignoreMerges  a piece that is itself a vocabulary entry becomes that token without merging (Llama 3)
 * @param unkToken      the unknown token's spelling, or null
 * @param bos           beginning-of-sequence id, or -1
 * @param eos           end-of-sequence id, or -1
 */
public record BpeSpec(Flavour flavour, List<String> vocab, List<Merge> merges, List<AddedToken> addedTokens,
                      List<String> splitPatterns, boolean nfc, boolean ignoreMerges, String unkToken, int bos, int eos) {

    public enum Flavour {
        /** GPT-2 / Llama 3 / Qwen2: text split by patterns, each piece's UTF-8 bytes are the starting symbols. */
        BYTE_LEVEL,
        /**
         * Llama 2 / Mistral as Hugging Face converts them: spaces become {@code ▁} with one prepended, characters are
         * the starting symbols, and a character missing from the vocabulary falls back to {@code <0xNN>} byte tokens.
         */
        SENTENCEPIECE
    }

    public record Merge(String left, String right) {}

    /**
     * @param special whether the token is special (split from text only when asked to parse special tokens) or an
     *                ordinary added token (always split)
     * @param lstrip  the token takes the whitespace before it
     * @param rstrip  the token takes the whitespace after it
     */
    public record AddedToken(int id, String content, boolean special, boolean lstrip, boolean rstrip) {
        public AddedToken(int id, String content, boolean special) {
            this(id, content, special, false, false);
        }
    }

    public BpeSpec {
        vocab = List.copyOf(vocab);
        merges = List.copyOf(merges);
        addedTokens = List.copyOf(addedTokens);
        splitPatterns = List.copyOf(splitPatterns);
    }
}
