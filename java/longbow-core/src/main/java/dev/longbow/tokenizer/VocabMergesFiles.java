package dev.longbow.tokenizer;

import dev.longbow.LongbowException;
import dev.longbow.util.Json;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The older Hugging Face byte-level BPE layout: {@code vocab.json} (token to id) and {@code merges.txt} (one
 * {@code left right} pair per line in priority order, after a {@code #version} header), with an optional
 * {@code tokenizer_config.json} beside them for added tokens, BOS/EOS and the tokenizer class, which picks the
 * split pattern (Qwen2Tokenizer: Qwen2's pattern and NFC; GPT2Tokenizer or none: GPT-2's).
 */
public final class VocabMergesFiles {
    private static final long MAX_BYTES = 256L << 20;

    private VocabMergesFiles() {}

    public static BpeTokenizer load(Path vocabJson, Path mergesTxt) {
        String vname = vocabJson.toString();
        Map<String, Object> vocabMap = Json.parseObject(HfTokenizerConfig.readText(vocabJson, MAX_BYTES), vname);
        Path dir = vocabJson.toAbsolutePath().getParent();
        HfTokenizerConfig config = dir == null ? null : HfTokenizerConfig.beside(dir);

        String cls = config == null ? null : config.tokenizerClass();
        List<String> patterns;
        boolean nfc;
        if (cls == null || cls.equals("GPT2Tokenizer") || cls.equals("GPT2TokenizerFast")) {
            patterns = List.of(SplitPatterns.GPT2);
            nfc = false;
        } else if (cls.equals("Qwen2Tokenizer") || cls.equals("Qwen2TokenizerFast")) {
            patterns = List.of(SplitPatterns.QWEN2);
            nfc = true;
        } else {
            throw new LongbowException(dir.resolve("tokenizer_config.json") + ": tokenizer_class '" + cls
                    + "' with vocab.json and merges.txt is not supported (known: GPT2Tokenizer, Qwen2Tokenizer)");
        }

        List<BpeSpec.AddedToken> added = new ArrayList<>(config == null ? List.of() : config.addedTokens());
        List<String> vocab = HfTokenizerJson.vocabList(vocabMap, added, vname);
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < vocab.size(); i++) ids.putIfAbsent(vocab.get(i), i);
        for (BpeSpec.AddedToken a : added) ids.put(a.content(), a.id());
        if (config == null && ids.containsKey("<|endoftext|>")) {
            // GPT-2 ships no config: its one special token is in vocab.json, and GPT2Tokenizer treats it as special.
            added.add(new BpeSpec.AddedToken(ids.get("<|endoftext|>"), "<|endoftext|>", true));
        }
        String eosName = config != null ? config.eos() : ids.containsKey("<|endoftext|>") ? "<|endoftext|>" : null;
        int eos = eosName == null ? -1 : lookup(ids, eosName, vname, "eos_token");
        int bos = config != null && config.addBos() && config.bos() != null ? lookup(ids, config.bos(), vname, "bos_token") : -1;
        List<BpeSpec.Merge> merges = readMerges(mergesTxt);
        return BpeTokenizer.of(new BpeSpec(BpeSpec.Flavour.BYTE_LEVEL, vocab, merges, added, patterns, nfc, false, null, bos, eos), mergesTxt.toString());
    }

    private static int lookup(Map<String, Integer> ids, String token, String name, String what) {
        Integer id = ids.get(token);
        if (id == null) throw new LongbowException(name + ": " + what + " '" + token + "' is not a token of the vocabulary");
        return id;
    }

    static List<BpeSpec.Merge> readMerges(Path path) {
        String text = HfTokenizerConfig.readText(path, MAX_BYTES);
        List<BpeSpec.Merge> out = new ArrayList<>();
        List<String> lines = HfTokenizerConfig.lines(text);
        for (int lineNo = 1; lineNo <= lines.size(); lineNo++) {
            String line = lines.get(lineNo - 1);
            if (line.isEmpty() || (lineNo == 1 && line.startsWith("#version"))) continue;
            int sp = line.indexOf(' ');
            if (sp <= 0 || sp == line.length() - 1 || line.indexOf(' ', sp + 1) >= 0) {
                throw new LongbowException(path + ": line " + lineNo + " is not two tokens separated by a space: '" + abbreviate(line) + "'");
            }
            out.add(new BpeSpec.Merge(line.substring(0, sp), line.substring(sp + 1)));
        }
        return out;
    }

    static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }
}
