package dev.longbow.tokenizer;

import dev.longbow.LongbowException;
import dev.longbow.format.GgufValue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Byte-level BPE vocabularies in GGUF metadata ({@code tokenizer.ggml.model = gpt2}), read and written as llama.cpp
 * does: {@code tokens} in the byte alphabet, {@code merges} as {@code "left right"}, {@code token_type} (3 control =
 * special added token, 4 user-defined = ordinary added token, always split from text as llama.cpp and Hugging Face
 * both do), {@code pre} naming the split pattern, and BOS only when {@code add_bos_token} says it is added.
 */
public final class GgufBpe {
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5;

    private GgufBpe() {}

    public static BpeTokenizer read(Map<String, GgufValue> md, String name) {
        List<Object> tokenList = array(md, "tokenizer.ggml.tokens", name, true);
        List<Object> typeList = array(md, "tokenizer.ggml.token_type", name, false);
        List<Object> mergeList = array(md, "tokenizer.ggml.merges", name, true);
        int n = tokenList.size();
        if (typeList != null && typeList.size() != n) throw new LongbowException(name + ": tokenizer.ggml.token_type has " + typeList.size() + " entries for " + n + " tokens");
        List<String> vocab = new ArrayList<>(n);
        List<BpeSpec.AddedToken> added = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (!(tokenList.get(i) instanceof String t)) throw new LongbowException(name + ": tokenizer.ggml.tokens[" + i + "] is not a string");
            vocab.add(t);
            int type = typeList == null ? NORMAL : number(typeList.get(i), "tokenizer.ggml.token_type", i, name).intValue();
            if (t.isEmpty()) continue;
            if (type == CONTROL || type == UNKNOWN) added.add(new BpeSpec.AddedToken(i, t, true));
            else if (type == USER_DEFINED) added.add(new BpeSpec.AddedToken(i, t, false));
        }
        List<BpeSpec.Merge> merges = new ArrayList<>(mergeList.size());
        for (int i = 0; i < mergeList.size(); i++) {
            if (!(mergeList.get(i) instanceof String s)) throw new LongbowException(name + ": tokenizer.ggml.merges[" + i + "] is not a string");
            int sp = s.indexOf(' ');
            if (sp <= 0 || sp == s.length() - 1 || s.indexOf(' ', sp + 1) >= 0) {
                throw new LongbowException(name + ": tokenizer.ggml.merges[" + i + "] '" + VocabMergesFiles.abbreviate(s) + "' is not two tokens separated by a space");
            }
            merges.add(new BpeSpec.Merge(s.substring(0, sp), s.substring(sp + 1)));
        }
        GgufValue pre = md.get("tokenizer.ggml.pre");
        // llama.cpp falls back to its "default" split when a file names none.
        String preName = pre == null ? "default" : String.valueOf(pre.value());
        SplitPatterns.Named split = SplitPatterns.llamaCpp(preName, name);
        GgufValue addBosKey = md.get("tokenizer.ggml.add_bos_token");
        boolean addBos = addBosKey != null ? Boolean.TRUE.equals(addBosKey.value()) : split.ignoreMerges(); // llama.cpp adds BOS by default only for Llama 3
        int bosId = id(md, "tokenizer.ggml.bos_token_id", n, name);
        int eos = id(md, "tokenizer.ggml.eos_token_id", n, name);
        BpeSpec spec = new BpeSpec(BpeSpec.Flavour.BYTE_LEVEL, vocab, merges, added, split.patterns(), split.nfc(),
                split.ignoreMerges(), null, addBos ? bosId : -1, eos);
        BpeTokenizer t = BpeTokenizer.of(spec, name);
        for (String key : List.of("tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id")) {
            int id = id(md, key, n, name);
            if (id >= 0) t.markEndOfText(id);
        }
        return t;
    }

    /** The tokenizer.ggml.* keys llama.cpp reads for this tokenizer. */
    public static Map<String, GgufValue> metadata(BpeTokenizer tokenizer) {
        BpeSpec spec = tokenizer.spec();
        String pre = tokenizer.llamaCppPreTokenizer();
        if (pre == null) throw new LongbowException("cannot write this tokenizer to GGUF: llama.cpp has no pre-tokenizer name for its split pattern");
        int n = tokenizer.vocabSize();
        List<String> tokens = new ArrayList<>(n);
        List<Long> types = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String p = tokenizer.piece(i);
            long type = tokenizer.isSpecial(i) ? CONTROL : tokenizer.isOrdinaryAdded(i) ? USER_DEFINED : NORMAL;
            if (p.isEmpty()) {
                p = "[PAD" + i + "]"; // ids no token uses, named as llama.cpp's converter names them
                type = UNUSED;
            }
            tokens.add(p);
            types.add(type);
        }
        List<String> merges = new ArrayList<>(spec.merges().size());
        for (BpeSpec.Merge m : spec.merges()) merges.add(m.left() + " " + m.right());
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        md.put("tokenizer.ggml.pre", GgufValue.string(pre));
        md.put("tokenizer.ggml.tokens", GgufValue.array(GgufValue.Type.STRING, tokens));
        md.put("tokenizer.ggml.token_type", GgufValue.array(GgufValue.Type.INT32, types));
        md.put("tokenizer.ggml.merges", GgufValue.array(GgufValue.Type.STRING, merges));
        if (tokenizer.bos() >= 0) md.put("tokenizer.ggml.bos_token_id", GgufValue.u32(tokenizer.bos()));
        if (tokenizer.eos() >= 0) md.put("tokenizer.ggml.eos_token_id", GgufValue.u32(tokenizer.eos()));
        md.put("tokenizer.ggml.add_bos_token", GgufValue.bool(tokenizer.bos() >= 0));
        md.put("tokenizer.ggml.add_eos_token", GgufValue.bool(false));
        return md;
    }

    private static List<Object> array(Map<String, GgufValue> md, String key, String name, boolean required) {
        GgufValue v = md.get(key);
        if (v == null) {
            if (required) throw new LongbowException(name + ": missing " + key);
            return null;
        }
        if (v.type() != GgufValue.Type.ARRAY) throw new LongbowException(name + ": " + key + " is not an array");
        return v.asArray().items();
    }

    private static Number number(Object v, String key, int i, String name) {
        if (!(v instanceof Number num)) throw new LongbowException(name + ": " + key + "[" + i + "] is not a number");
        return num;
    }

    /** An optional id key: -1 when absent; outside the vocabulary it is an error. */
    private static int id(Map<String, GgufValue> md, String key, int n, String name) {
        GgufValue v = md.get(key);
        if (v == null) return -1;
        if (!(v.value() instanceof Number num)) throw new LongbowException(name + ": " + key + " is not a number");
        long id = num.longValue();
        if (id < 0 || id >= n) throw new LongbowException(name + ": " + key + " = " + id + " is outside the vocabulary of " + n);
        return (int) id;
    }
}
