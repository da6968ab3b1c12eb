package dev.longbow.tokenizer.train;

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

    /** The Hugging Face tokenizer.json text. */
    public String toJson() {
        return HfTokenizerJson.write(this);
    }
}
