package dev.longbow.tokenizer.train;

import dev.longbow.tokenizer.BpeSpec;
import dev.longbow.tokenizer.HfTokenizerJson;
import dev.longbow.tokenizer.SplitPatterns;

import java.util.ArrayList;
import java.util.List;

/**
 * A trained BPE vocabulary: tokens in id order, with the special tokens at ids {@code 0..specialCount-1}, and the
 * merges in rank order as (left id, right id, result id).
 */
public record TrainedTokenizer(TokenizerTrainer.Kind kind, List<String> tokens, List<int[]> merges, int specialCount,
                               TokenizerTrainer.Stats stats) {
    public int vocabSize() {
        return tokens.size();
    }

    /**
     * As the tokenizer it describes: byte-bpe laid out like GPT-2's file (GPT-2 split, byte-level alphabet, no BOS,
     * the first special token ends text), bpe like Llama 2's (▁ for spaces, byte fallback, {@code <s>} = 1 added
     * as BOS, {@code </s>} = 2).
     */
    public BpeSpec spec() {
        boolean byteLevel = kind == TokenizerTrainer.Kind.BYTE_BPE;
        List<BpeSpec.Merge> m = new ArrayList<>(merges.size());
        for (int[] merge : merges) m.add(new BpeSpec.Merge(tokens.get(merge[0]), tokens.get(merge[1])));
        List<BpeSpec.AddedToken> added = new ArrayList<>();
        for (int id = 0; id < specialCount; id++) added.add(new BpeSpec.AddedToken(id, tokens.get(id), true));
        return byteLevel
                ? new BpeSpec(BpeSpec.Flavour.BYTE_LEVEL, tokens, m, added, List.of(SplitPatterns.GPT2), false, false, null, -1, specialCount > 0 ? 0 : -1)
                : new BpeSpec(BpeSpec.Flavour.SENTENCEPIECE, tokens, m, added, List.of(), false, false, "<unk>", 1, 2);
    }

    /** The Hugging Face tokenizer.json text. */
    public String toJson() {
        return HfTokenizerJson.toJson(spec());
    }
}
