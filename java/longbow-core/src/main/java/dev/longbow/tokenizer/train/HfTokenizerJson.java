package dev.longbow.tokenizer.train;

import dev.longbow.util.Json;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a trained tokenizer as Hugging Face tokenizer.json, keys in the order the tokenizers library writes them.
 * BYTE_BPE is laid out like GPT-2's file (ByteLevel pre-tokenizer and decoder), BPE like Llama 2's (Prepend and
 * Replace normaliser, byte fallback, a decoder that undoes both, BOS added by the post-processor). Merges use the
 * "left right" string form, which every reader accepts; no token contains a plain space (byte-level text shows it
 * as "Ġ", SentencePiece-style text as "▁").
 */
final class HfTokenizerJson {
    private HfTokenizerJson() {}

    static String write(TrainedTokenizer t) {
        boolean byteLevel = t.kind() == TokenizerTrainer.Kind.BYTE_BPE;
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        List<Object> added = new ArrayList<>();
        for (int id = 0; id < t.specialCount(); id++) {
            added.add(object("id", id, "content", t.tokens().get(id), "single_word", false, "lstrip", false, "rstrip", false,
                    "normalized", false, "special", true));
        }
        root.put("added_tokens", added);
        if (byteLevel) {
            Map<String, Object> byteLevelStep = object("type", "ByteLevel", "add_prefix_space", false, "trim_offsets", true, "use_regex", true);
            root.put("normalizer", null);
            root.put("pre_tokenizer", byteLevelStep);
            root.put("post_processor", null);
            root.put("decoder", byteLevelStep);
        } else {
            root.put("normalizer", object("type", "Sequence", "normalizers", List.of(
                    object("type", "Prepend", "prepend", "\u2581"),
                    object("type", "Replace", "pattern", object("String", " "), "content", "\u2581"))));
            root.put("pre_tokenizer", null);
            Map<String, Object> bos = object("SpecialToken", object("id", "<s>", "type_id", 0));
            root.put("post_processor", object("type", "TemplateProcessing",
                    "single", List.of(bos, object("Sequence", object("id", "A", "type_id", 0))),
                    "pair", List.of(bos, object("Sequence", object("id", "A", "type_id", 0)), object("SpecialToken", object("id", "<s>", "type_id", 1)),
                            object("Sequence", object("id", "B", "type_id", 1))),
                    "special_tokens", object("<s>", object("id", "<s>", "ids", List.of(1), "tokens", List.of("<s>")))));
            root.put("decoder", object("type", "Sequence", "decoders", List.of(
                    object("type", "Replace", "pattern", object("String", "\u2581"), "content", " "),
                    object("type", "ByteFallback"),
                    object("type", "Fuse"),
                    object("type", "Strip", "content", " ", "start", 1, "stop", 0))));
        }
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int id = 0; id < t.tokens().size(); id++) vocab.putIfAbsent(t.tokens().get(id), id);
        List<String> merges = new ArrayList<>(t.merges().size());
        for (int[] m : t.merges()) merges.add(t.tokens().get(m[0]) + " " + t.tokens().get(m[1]));
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("dropout", null);
        model.put("unk_token", byteLevel ? null : "<unk>");
        model.put("continuing_subword_prefix", null);
        model.put("end_of_word_suffix", null);
        model.put("fuse_unk", !byteLevel);
        model.put("byte_fallback", !byteLevel);
        model.put("ignore_merges", false);
        model.put("vocab", vocab);
        model.put("merges", merges);
        root.put("model", model);
        return Json.write(root);
    }

    private static Map<String, Object> object(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) m.put((String) keyValues[i], keyValues[i + 1]);
        return m;
    }
}
