package dev.longbow.tokenizer;

import dev.longbow.format.GgufValue;
import dev.longbow.format.GgufVocab;
import dev.longbow.format.ModelFile;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A SentencePiece-style BPE tokenizer (as Hugging Face converts Llama 2) made from a SentencePiece vocabulary with
 * scores: each piece's merges are its splits into two pieces, ordered by the piece's score, the way Hugging Face's
 * SentencePieceExtractor derives them.
 */
final class SentencePieceStyle {
    private SentencePieceStyle() {}

    static BpeTokenizer fromLlamaSpmGguf(Path gguf) {
        try (ModelFile f = GgufVocab.open(gguf)) {
            Map<String, GgufValue> md = f.metadata();
            List<Object> tokens = md.get("tokenizer.ggml.tokens").asArray().items();
            List<Object> scores = md.get("tokenizer.ggml.scores").asArray().items();
            List<Object> types = md.get("tokenizer.ggml.token_type").asArray().items();
            List<String> vocab = new ArrayList<>();
            Map<String, Integer> ids = new HashMap<>();
            for (Object t : tokens) {
                ids.putIfAbsent((String) t, vocab.size());
                vocab.add((String) t);
            }
            record Candidate(String left, String right, float score, int leftId, int rightId) {}
            List<Candidate> candidates = new ArrayList<>();
            List<BpeSpec.AddedToken> added = new ArrayList<>();
            for (int id = 0; id < vocab.size(); id++) {
                int type = ((Number) types.get(id)).intValue();
                String piece = vocab.get(id);
                if (type == 2 || type == 3) added.add(new BpeSpec.AddedToken(id, piece, true));
                if (type != 1) continue;
                for (int k = 1; k < piece.length(); k++) {
                    if (Character.isLowSurrogate(piece.charAt(k))) continue;
                    Integer l = ids.get(piece.substring(0, k)), r = ids.get(piece.substring(k));
                    if (l != null && r != null) candidates.add(new Candidate(piece.substring(0, k), piece.substring(k), ((Number) scores.get(id)).floatValue(), l, r));
                }
            }
            candidates.sort(Comparator.comparingDouble((Candidate c) -> -c.score).thenComparingInt(Candidate::leftId).thenComparingInt(Candidate::rightId));
            List<BpeSpec.Merge> merges = new ArrayList<>();
            for (Candidate c : candidates) merges.add(new BpeSpec.Merge(c.left, c.right));
            BpeSpec spec = new BpeSpec(BpeSpec.Flavour.SENTENCEPIECE, vocab, merges, added, List.of(), false, false, "<unk>", 1, 2);
            return BpeTokenizer.of(spec, gguf.toString());
        }
    }
}
