package dev.longbow.tokenizer;

import dev.longbow.LongbowException;
import dev.longbow.util.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Hugging Face {@code tokenizer.json} files with a BPE model: reading (with their normaliser, pre-tokenizer and
 * decoder) and writing.
 *
 * <p>Supported components: normalizer {@code NFC NFD NFKC NFKD Prepend Replace Sequence ByteLevel}; pre_tokenizer
 * {@code ByteLevel Split Metaspace Digits Sequence}; decoder {@code ByteLevel Metaspace ByteFallback Fuse Strip Replace
 * Sequence}. Added tokens: {@code id content special lstrip rstrip}; {@code normalized} and {@code single_word} are not
 * applied (every added token is matched in the raw text, as special tokens always are). Special added tokens are split
 * from text only when the caller asks to parse special tokens; other added tokens always are. BOS is the special token
 * a TemplateProcessing post-processor puts first, else {@code bos_token} of a {@code tokenizer_config.json} beside the
 * file that sets {@code add_bos_token}; EOS is the config's {@code eos_token}, else the first special added token among
 * {@code </s> <|end_of_text|> <|endoftext|> <eos> <|im_end|>}.
 */
public final class HfTokenizerJson {
    static final long MAX_BYTES = 1L << 30;
    private static final List<String> EOS_NAMES = List.of("</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", "<|im_end|>");

    private HfTokenizerJson() {}

    public static BpeTokenizer load(Path path) {
        String name = path.toString();
        Map<String, Object> root = Json.parseObject(HfTokenizerConfig.readText(path, MAX_BYTES), name);
        Path dir = path.toAbsolutePath().getParent();
        return fromJson(root, name, dir == null ? null : HfTokenizerConfig.beside(dir));
    }

    static BpeTokenizer fromJson(Map<String, Object> root, String name, HfTokenizerConfig config) {
        Reader r = new Reader(name);
        try {
            return r.read(root, config);
        } catch (ClassCastException | NullPointerException | ArithmeticException e) {
            throw new LongbowException(name + ": tokenizer.json has an unexpected structure (" + e.getMessage() + ")");
        }
    }

    private static final class Reader {
        final String name;
        boolean byteLevel;

        Reader(String name) {
            this.name = name;
        }

        LongbowException error(String msg) {
            return new LongbowException(name + ": " + msg);
        }

        BpeTokenizer read(Map<String, Object> root, HfTokenizerConfig config) {
            Map<String, Object> model = map(root.get("model"), "model");
            if (model == null) throw error("tokenizer.json has no model");
            String type = model.get("type") instanceof String s ? s : model.containsKey("merges") ? "BPE" : null;
            if (!"BPE".equals(type)) {
                throw error("tokenizer.json: model type '" + type + "' is not supported (only BPE; WordPiece, Unigram and WordLevel are not)");
            }
            for (String key : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
                Object v = model.get(key);
                if (v != null && !"".equals(v)) throw error("tokenizer.json: model." + key + " '" + v + "' is not supported");
            }
            if (model.get("dropout") instanceof Number d && d.doubleValue() > 0) throw error("tokenizer.json: BPE dropout is not supported");

            List<BpeSpec.AddedToken> added = new ArrayList<>();
            if (root.get("added_tokens") instanceof List<?> list) {
                for (Object o : list) {
                    Map<String, Object> t = map(o, "added_tokens entry");
                    if (!(t.get("content") instanceof String content) || !(t.get("id") instanceof Number id)) throw error("tokenizer.json: an added token lacks id or content");
                    added.add(new BpeSpec.AddedToken(Math.toIntExact(id.longValue()), content, bool(t, "special", false), bool(t, "lstrip", false), bool(t, "rstrip", false)));
                }
            } else if (root.get("added_tokens") != null) {
                throw error("tokenizer.json: added_tokens is not a list");
            }

            // Pre-tokenizer first: whether it contains ByteLevel decides the flavour.
            List<String> patterns = new ArrayList<>();
            Object preJson = root.get("pre_tokenizer");
            TextSteps.Step pre = preTokenizer(preJson, patterns);
            TextSteps.Normalizer normalizer = normalizer(root.get("normalizer"));
            BpeDecoding decoding = root.get("decoder") == null ? new BpeDecoding(null) : new BpeDecoding(decoders(root.get("decoder"), new ArrayList<>()));

            Map<String, Object> vocabJson = map(model.get("vocab"), "model.vocab");
            if (vocabJson == null) throw error("tokenizer.json: model has no vocab");
            List<String> vocab = vocabList(vocabJson, added, name);
            List<BpeSpec.Merge> merges = merges(model.get("merges"), name);

            Map<String, Integer> ids = new HashMap<>();
            for (int i = 0; i < vocab.size(); i++) ids.putIfAbsent(vocab.get(i), i);
            for (BpeSpec.AddedToken a : added) ids.put(a.content(), a.id());
            // BOS is what the post-processor puts first; a config can also ask for one (add_bos_token).
            String bosName = templateBos(root.get("post_processor"));
            if (bosName == null && config != null && config.addBos()) bosName = config.bos();
            String eosName = config != null ? config.eos() : null;
            if (eosName == null) {
                Set<String> specials = new HashSet<>();
                for (BpeSpec.AddedToken a : added) if (a.special()) specials.add(a.content());
                for (String n : EOS_NAMES) if (specials.contains(n)) {
                    eosName = n;
                    break;
                }
            }
            int bos = bosName == null ? -1 : idOf(ids, bosName, "bos_token");
            int eos = eosName == null ? -1 : idOf(ids, eosName, "eos_token");
            String unk = model.get("unk_token") instanceof String s ? s : null;
            boolean ignoreMerges = bool(model, "ignore_merges", false);
            boolean byteFallback = bool(model, "byte_fallback", false);
            boolean fuseUnk = bool(model, "fuse_unk", false);
            BpeSpec.Flavour flavour = byteLevel ? BpeSpec.Flavour.BYTE_LEVEL : BpeSpec.Flavour.SENTENCEPIECE;
            boolean nfc = root.get("normalizer") instanceof Map<?, ?> nm && "NFC".equals(nm.get("type"));
            BpeSpec spec = new BpeSpec(flavour, vocab, merges, added, patterns, nfc, ignoreMerges, unk, bos, eos);
            if (isStandard(root, spec, byteFallback, fuseUnk)) return BpeTokenizer.of(spec, name);
            return new BpeTokenizer(spec, normalizer, pre, decoding, byteFallback, fuseUnk, false, name);
        }

        int idOf(Map<String, Integer> ids, String token, String what) {
            Integer id = ids.get(token);
            if (id == null) throw error(what + " '" + token + "' is not a token of the vocabulary");
            return id;
        }

        /** Whether the components are exactly those {@link BpeTokenizer#of} builds for the spec, so it can be written back. */
        boolean isStandard(Map<String, Object> root, BpeSpec spec, boolean byteFallback, boolean fuseUnk) {
            Object norm = root.get("normalizer"), pre = root.get("pre_tokenizer"), dec = root.get("decoder");
            if (spec.flavour() == BpeSpec.Flavour.BYTE_LEVEL) {
                boolean normOk = norm == null || (norm instanceof Map<?, ?> m && "NFC".equals(m.get("type")));
                boolean decOk = dec instanceof Map<?, ?> d && "ByteLevel".equals(d.get("type"));
                return normOk && decOk && !byteFallback && !spec.splitPatterns().isEmpty() && plainByteLevelSplit(pre);
            }
            Object expectNorm = Json.parse(Json.write(sentencePieceNormalizer()));
            Object expectDec = Json.parse(Json.write(sentencePieceDecoder()));
            return pre == null && byteFallback && fuseUnk && expectNorm.equals(norm) && expectDec.equals(dec);
        }

        /** ByteLevel with its own regex, or Split(isolated regex)s followed by a ByteLevel without one; no prefix space. */
        boolean plainByteLevelSplit(Object pre) {
            if (!(pre instanceof Map<?, ?> m)) return false;
            if ("ByteLevel".equals(m.get("type"))) return !Boolean.TRUE.equals(m.get("add_prefix_space")) && !Boolean.FALSE.equals(m.get("use_regex"));
            if (!"Sequence".equals(m.get("type")) || !(m.get("pretokenizers") instanceof List<?> list) || list.size() < 2) return false;
            for (int i = 0; i < list.size(); i++) {
                if (!(list.get(i) instanceof Map<?, ?> p)) return false;
                if (i == list.size() - 1) {
                    return "ByteLevel".equals(p.get("type")) && !Boolean.TRUE.equals(p.get("add_prefix_space")) && Boolean.FALSE.equals(p.get("use_regex"));
                }
                if (!"Split".equals(p.get("type")) || !"Isolated".equals(p.get("behavior")) || Boolean.TRUE.equals(p.get("invert"))
                        || !(p.get("pattern") instanceof Map<?, ?> pat) || !(pat.get("Regex") instanceof String)) return false;
            }
            return false;
        }

        // ---- components ----

        TextSteps.Normalizer normalizer(Object json) {
            if (json == null) return null;
            Map<String, Object> m = map(json, "normalizer");
            String type = type(m, "normalizer");
            return switch (type) {
                case "NFC" -> TextSteps.unicode(java.text.Normalizer.Form.NFC);
                case "NFD" -> TextSteps.unicode(java.text.Normalizer.Form.NFD);
                case "NFKC" -> TextSteps.unicode(java.text.Normalizer.Form.NFKC);
                case "NFKD" -> TextSteps.unicode(java.text.Normalizer.Form.NFKD);
                case "Prepend" -> TextSteps.prepend(string(m, "prepend", "Prepend normalizer"));
                case "Replace" -> {
                    String content = string(m, "content", "Replace normalizer");
                    Map<String, Object> p = map(m.get("pattern"), "Replace normalizer pattern");
                    if (p != null && p.get("String") instanceof String s) yield TextSteps.replaceLiteral(s, content);
                    if (p != null && p.get("Regex") instanceof String s) yield TextSteps.replace(compile(s), content);
                    throw error("tokenizer.json: Replace normalizer has no String or Regex pattern");
                }
                case "ByteLevel" -> {
                    byteLevel = true;
                    yield null;
                }
                case "Sequence" -> {
                    List<TextSteps.Normalizer> parts = new ArrayList<>();
                    for (Object o : list(m.get("normalizers"), "normalizers")) {
                        TextSteps.Normalizer n = normalizer(o);
                        if (n != null) parts.add(n);
                    }
                    yield parts.isEmpty() ? null : TextSteps.normalizers(parts);
                }
                default -> throw error("tokenizer.json: normalizer type '" + type + "' is not supported");
            };
        }

        TextSteps.Step preTokenizer(Object json, List<String> patterns) {
            if (json == null) return null;
            Map<String, Object> m = map(json, "pre_tokenizer");
            String type = type(m, "pre_tokenizer");
            return switch (type) {
                case "ByteLevel" -> {
                    byteLevel = true;
                    boolean useRegex = bool(m, "use_regex", true);
                    if (useRegex) patterns.add(SplitPatterns.GPT2);
                    boolean prefix = bool(m, "add_prefix_space", false);
                    yield !prefix && !useRegex ? null : TextSteps.byteLevel(prefix, useRegex);
                }
                case "Split" -> {
                    Map<String, Object> p = map(m.get("pattern"), "Split pattern");
                    String behavior = string(m, "behavior", "Split pre-tokenizer");
                    boolean invert = bool(m, "invert", false);
                    Pattern pattern;
                    String regex = null;
                    if (p != null && p.get("Regex") instanceof String s) {
                        regex = s;
                        pattern = compile(s);
                    } else if (p != null && p.get("String") instanceof String s) {
                        pattern = Pattern.compile(Pattern.quote(s));
                    } else {
                        throw error("tokenizer.json: Split pre-tokenizer has no String or Regex pattern");
                    }
                    TextSteps.Behavior b = switch (behavior) {
                        case "Isolated" -> TextSteps.Behavior.ISOLATED;
                        case "Removed" -> TextSteps.Behavior.REMOVED;
                        case "MergedWithPrevious" -> TextSteps.Behavior.MERGED_WITH_PREVIOUS;
                        case "MergedWithNext" -> TextSteps.Behavior.MERGED_WITH_NEXT;
                        case "Contiguous" -> TextSteps.Behavior.CONTIGUOUS;
                        default -> throw error("tokenizer.json: Split behavior '" + behavior + "' is not supported");
                    };
                    if (regex != null && b == TextSteps.Behavior.ISOLATED && !invert) {
                        patterns.add(regex);
                        yield TextSteps.isolated(SplitPatterns.splitter(regex));
                    }
                    yield TextSteps.split(pattern, b, invert);
                }
                case "Metaspace" -> {
                    String rep = string(m, "replacement", "Metaspace pre-tokenizer");
                    if (rep.length() != 1) throw error("tokenizer.json: Metaspace replacement '" + rep + "' is not one character");
                    yield TextSteps.metaspace(rep.charAt(0), prependScheme(m), bool(m, "split", true));
                }
                case "Digits" -> TextSteps.digits(bool(m, "individual_digits", false));
                case "Sequence" -> {
                    List<TextSteps.Step> steps = new ArrayList<>();
                    for (Object o : list(m.get("pretokenizers"), "pretokenizers")) {
                        TextSteps.Step s = preTokenizer(o, patterns);
                        if (s != null) steps.add(s);
                    }
                    yield steps.isEmpty() ? null : steps.size() == 1 ? steps.getFirst() : TextSteps.steps(steps);
                }
                default -> throw error("tokenizer.json: pre_tokenizer type '" + type + "' is not supported");
            };
        }

        TextSteps.PrependScheme prependScheme(Map<String, Object> m) {
            if (m.get("prepend_scheme") instanceof String s) {
                return switch (s) {
                    case "first" -> TextSteps.PrependScheme.FIRST;
                    case "always" -> TextSteps.PrependScheme.ALWAYS;
                    case "never" -> TextSteps.PrependScheme.NEVER;
                    default -> throw error("tokenizer.json: Metaspace prepend_scheme '" + s + "' is not supported");
                };
            }
            // Files from before prepend_scheme existed say add_prefix_space instead.
            return bool(m, "add_prefix_space", true) ? TextSteps.PrependScheme.ALWAYS : TextSteps.PrependScheme.NEVER;
        }

        List<BpeDecoding.Step> decoders(Object json, List<BpeDecoding.Step> out) {
            Map<String, Object> m = map(json, "decoder");
            String type = type(m, "decoder");
            switch (type) {
                case "ByteLevel" -> out.add(new BpeDecoding.ByteLevel());
                case "Metaspace" -> {
                    String rep = string(m, "replacement", "Metaspace decoder");
                    if (rep.length() != 1) throw error("tokenizer.json: Metaspace replacement '" + rep + "' is not one character");
                    out.add(new BpeDecoding.Metaspace(rep.charAt(0), prependScheme(m) != TextSteps.PrependScheme.NEVER));
                }
                case "ByteFallback" -> out.add(new BpeDecoding.ByteFallback());
                case "Fuse" -> out.add(new BpeDecoding.Fuse());
                case "Strip" -> {
                    String content = string(m, "content", "Strip decoder");
                    if (content.length() != 1) throw error("tokenizer.json: Strip content '" + content + "' is not one character");
                    out.add(new BpeDecoding.Strip(content.charAt(0), integer(m, "start"), integer(m, "stop")));
                }
                case "Replace" -> {
                    String content = string(m, "content", "Replace decoder");
                    Map<String, Object> p = map(m.get("pattern"), "Replace decoder pattern");
                    if (p != null && p.get("String") instanceof String s) out.add(new BpeDecoding.Replace(s, false, content));
                    else if (p != null && p.get("Regex") instanceof String s) {
                        compile(s);
                        out.add(new BpeDecoding.Replace(s, true, content));
                    } else throw error("tokenizer.json: Replace decoder has no String or Regex pattern");
                }
                case "Sequence" -> {
                    for (Object o : list(m.get("decoders"), "decoders")) decoders(o, out);
                }
                default -> throw error("tokenizer.json: decoder type '" + type + "' is not supported");
            }
            return out;
        }

        /** The special token a TemplateProcessing post-processor puts before a single sequence, if any. */
        String templateBos(Object json) {
            if (!(json instanceof Map<?, ?> m)) return null;
            if ("Sequence".equals(m.get("type")) && m.get("processors") instanceof List<?> list) {
                for (Object o : list) {
                    String s = templateBos(o);
                    if (s != null) return s;
                }
                return null;
            }
            if (!"TemplateProcessing".equals(m.get("type")) || !(m.get("single") instanceof List<?> single) || single.isEmpty()) return null;
            if (single.getFirst() instanceof Map<?, ?> first && first.get("SpecialToken") instanceof Map<?, ?> st && st.get("id") instanceof String id) {
                // The template names a special token; its "tokens" list (when present) spells the actual token.
                if (m.get("special_tokens") instanceof Map<?, ?> specials && specials.get(id) instanceof Map<?, ?> entry
                        && entry.get("tokens") instanceof List<?> toks && toks.size() == 1 && toks.getFirst() instanceof String t) {
                    return t;
                }
                return id;
            }
            return null;
        }

        // ---- small typed accessors ----

        @SuppressWarnings("unchecked")
        Map<String, Object> map(Object o, String what) {
            if (o == null) return null;
            if (!(o instanceof Map)) throw error("tokenizer.json: " + what + " is not an object");
            return (Map<String, Object>) o;
        }

        List<?> list(Object o, String what) {
            if (!(o instanceof List<?> l)) throw error("tokenizer.json: " + what + " is not a list");
            return l;
        }

        String type(Map<String, Object> m, String what) {
            if (!(m.get("type") instanceof String s)) throw error("tokenizer.json: " + what + " has no type");
            return s;
        }

        String string(Map<String, Object> m, String key, String what) {
            if (!(m.get(key) instanceof String s)) throw error("tokenizer.json: " + what + " has no string '" + key + "'");
            return s;
        }

        int integer(Map<String, Object> m, String key) {
            Object v = m.get(key);
            if (v == null) return 0;
            if (!(v instanceof Number n) || n.longValue() < 0 || n.longValue() > Integer.MAX_VALUE) throw error("tokenizer.json: '" + key + "' is not a count");
            return n.intValue();
        }

        boolean bool(Map<String, Object> m, String key, boolean dflt) {
            Object v = m.get(key);
            if (v == null) return dflt;
            if (!(v instanceof Boolean b)) throw error("tokenizer.json: '" + key + "' is not true or false");
            return b;
        }

        Pattern compile(String regex) {
            try {
                return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
            } catch (PatternSyntaxException e) {
                throw error("tokenizer.json: pattern does not compile: " + e.getDescription() + " in " + regex);
            }
        }
    }

    /** Vocabulary map to a list by id; ids must be dense, except where added tokens fill the gaps. */
    static List<String> vocabList(Map<String, Object> vocabJson, List<BpeSpec.AddedToken> added, String name) {
        int max = -1;
        for (var e : vocabJson.entrySet()) {
            if (!(e.getValue() instanceof Long id) || id < 0 || id > Integer.MAX_VALUE - 8) {
                throw new LongbowException(name + ": vocabulary id of '" + e.getKey() + "' is not a token id: " + e.getValue());
            }
            max = Math.max(max, id.intValue());
        }
        if (max >= 16 * Math.max(vocabJson.size(), 1024)) throw new LongbowException(name + ": vocabulary ids reach " + max + " for " + vocabJson.size() + " tokens");
        String[] byId = new String[max + 1];
        for (var e : vocabJson.entrySet()) {
            int id = ((Long) e.getValue()).intValue();
            if (byId[id] != null) throw new LongbowException(name + ": vocabulary id " + id + " is given to both '" + byId[id] + "' and '" + e.getKey() + "'");
            byId[id] = e.getKey();
        }
        Map<Integer, String> addedById = new HashMap<>();
        for (BpeSpec.AddedToken a : added) addedById.put(a.id(), a.content());
        for (int i = 0; i <= max; i++) {
            if (byId[i] == null) {
                byId[i] = addedById.get(i);
                if (byId[i] == null) throw new LongbowException(name + ": vocabulary has no token with id " + i);
            }
        }
        return java.util.Arrays.asList(byId);
    }

    /** Merges as {@code "a b"} strings or {@code ["a", "b"]} pairs; both forms exist in published files. */
    static List<BpeSpec.Merge> merges(Object json, String name) {
        if (json == null) return List.of();
        if (!(json instanceof List<?> list)) throw new LongbowException(name + ": merges is not a list");
        List<BpeSpec.Merge> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            Object o = list.get(i);
            if (o instanceof String s) {
                int sp = s.indexOf(' ');
                if (sp <= 0 || sp == s.length() - 1 || s.indexOf(' ', sp + 1) >= 0) throw new LongbowException(name + ": merge " + (i + 1) + " '" + s + "' is not two tokens separated by a space");
                out.add(new BpeSpec.Merge(s.substring(0, sp), s.substring(sp + 1)));
            } else if (o instanceof List<?> pair && pair.size() == 2 && pair.get(0) instanceof String a && pair.get(1) instanceof String b) {
                out.add(new BpeSpec.Merge(a, b));
            } else {
                throw new LongbowException(name + ": merge " + (i + 1) + " is neither \"a b\" nor [\"a\", \"b\"]");
            }
        }
        return out;
    }

    // ---- writing ----

    /** Writes {@code spec} as a tokenizer.json that Hugging Face tokenizers loads and tokenizes identically. */
    public static void write(Path path, BpeSpec spec) throws IOException {
        Files.writeString(path, toJson(spec), StandardCharsets.UTF_8);
    }

    public static String toJson(BpeSpec spec) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        List<Object> added = new ArrayList<>();
        for (BpeSpec.AddedToken a : spec.addedTokens()) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("id", a.id());
            t.put("content", a.content());
            t.put("single_word", false);
            t.put("lstrip", a.lstrip());
            t.put("rstrip", a.rstrip());
            t.put("normalized", false);
            t.put("special", a.special());
            added.add(t);
        }
        root.put("added_tokens", added);
        boolean byteLevel = spec.flavour() == BpeSpec.Flavour.BYTE_LEVEL;
        if (byteLevel) {
            root.put("normalizer", spec.nfc() ? Map.of("type", "NFC") : null);
            List<Object> pre = new ArrayList<>();
            for (String p : spec.splitPatterns()) {
                Map<String, Object> split = new LinkedHashMap<>();
                split.put("type", "Split");
                split.put("pattern", Map.of("Regex", p));
                split.put("behavior", "Isolated");
                split.put("invert", false);
                pre.add(split);
            }
            pre.add(byteLevelComponent(false));
            root.put("pre_tokenizer", Map.of("type", "Sequence", "pretokenizers", pre));
        } else {
            root.put("normalizer", sentencePieceNormalizer());
            root.put("pre_tokenizer", null);
        }
        root.put("post_processor", spec.bos() < 0 ? null : bosTemplate(spec));
        root.put("decoder", byteLevel ? byteLevelComponent(true) : sentencePieceDecoder());

        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("dropout", null);
        model.put("unk_token", spec.unkToken());
        model.put("continuing_subword_prefix", null);
        model.put("end_of_word_suffix", null);
        model.put("fuse_unk", !byteLevel);
        model.put("byte_fallback", !byteLevel);
        model.put("ignore_merges", spec.ignoreMerges());
        Map<String, Object> vocab = new LinkedHashMap<>(spec.vocab().size() * 2);
        for (int i = 0; i < spec.vocab().size(); i++) {
            if (vocab.put(spec.vocab().get(i), i) != null) throw new LongbowException("cannot write tokenizer.json: token '" + spec.vocab().get(i) + "' appears twice in the vocabulary");
        }
        model.put("vocab", vocab);
        boolean spaces = false;
        for (BpeSpec.Merge m : spec.merges()) spaces |= m.left().indexOf(' ') >= 0 || m.right().indexOf(' ') >= 0;
        List<Object> merges = new ArrayList<>(spec.merges().size());
        // "a b" strings are what every tokenizers version reads; tokens holding a space need the newer pair form.
        for (BpeSpec.Merge m : spec.merges()) merges.add(spaces ? List.of(m.left(), m.right()) : m.left() + " " + m.right());
        model.put("merges", merges);
        root.put("model", model);
        return Json.write(root);
    }

    private static Map<String, Object> byteLevelComponent(boolean decoder) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "ByteLevel");
        m.put("add_prefix_space", false);
        m.put("trim_offsets", true);
        m.put("use_regex", decoder);
        return m;
    }

    private static Map<String, Object> sentencePieceNormalizer() {
        return Map.of("type", "Sequence", "normalizers", List.of(
                Map.of("type", "Prepend", "prepend", "\u2581"),
                Map.of("type", "Replace", "pattern", Map.of("String", " "), "content", "\u2581")));
    }

    private static Map<String, Object> sentencePieceDecoder() {
        return Map.of("type", "Sequence", "decoders", List.of(
                Map.of("type", "Replace", "pattern", Map.of("String", "\u2581"), "content", " "),
                Map.of("type", "ByteFallback"),
                Map.of("type", "Fuse"),
                Map.of("type", "Strip", "content", " ", "start", 1L, "stop", 0L)));
    }

    private static Map<String, Object> bosTemplate(BpeSpec spec) {
        String bos = spec.bos() < spec.vocab().size() ? spec.vocab().get(spec.bos()) : null;
        for (BpeSpec.AddedToken a : spec.addedTokens()) if (a.id() == spec.bos()) bos = a.content();
        Map<String, Object> st = Map.of("SpecialToken", Map.of("id", bos, "type_id", 0L));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "TemplateProcessing");
        m.put("single", List.of(st, Map.of("Sequence", Map.of("id", "A", "type_id", 0L))));
        m.put("pair", List.of(st, Map.of("Sequence", Map.of("id", "A", "type_id", 0L)), st, Map.of("Sequence", Map.of("id", "B", "type_id", 1L))));
        m.put("special_tokens", Map.of(bos, Map.of("id", bos, "ids", List.of((long) spec.bos()), "tokens", List.of(bos))));
        return m;
    }
}
