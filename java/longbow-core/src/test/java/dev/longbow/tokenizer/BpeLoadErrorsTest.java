package dev.longbow.tokenizer;

import dev.longbow.LongbowException;
import dev.longbow.format.GgufValue;
import dev.longbow.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Broken tokenizer files are a LongbowException naming the file and the problem, never another exception or a hang. */
class BpeLoadErrorsTest {
    @TempDir
    Path dir;

    /** A tiny byte-level tokenizer: the 256 bytes, "ab" and "abc". */
    static BpeSpec tiny() {
        List<String> vocab = new ArrayList<>();
        for (int b = 0; b < 256; b++) vocab.add(String.valueOf(ByteLevel.charOf(b)));
        vocab.add("ab");
        vocab.add("abc");
        return new BpeSpec(BpeSpec.Flavour.BYTE_LEVEL, vocab, List.of(new BpeSpec.Merge("a", "b"), new BpeSpec.Merge("ab", "c")),
                List.of(new BpeSpec.AddedToken(258, "<|end|>", true)), List.of(SplitPatterns.GPT2), false, false, null, -1, 258);
    }

    Path write(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content, StandardCharsets.UTF_8);
        return p;
    }

    void fails(Path p, String... expectedParts) {
        failsNaming(p, p, expectedParts);
    }

    /** Loading {@code p} fails with a message that names {@code culprit} (the file that is wrong). */
    void failsNaming(Path p, Path culprit, String... expectedParts) {
        LongbowException e = assertThrows(LongbowException.class, () -> Tokenizers.load(p));
        assertTrue(e.getMessage().contains(culprit.toString()), "message does not name the file: " + e.getMessage());
        for (String part : expectedParts) assertTrue(e.getMessage().contains(part), "message lacks '" + part + "': " + e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "not one line: " + e.getMessage());
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> tinyJson() {
        return (Map<String, Object>) Json.parse(HfTokenizerJson.toJson(tiny()));
    }

    @Test
    void tinyTokenizerWorksAsWritten() throws IOException {
        Path p = write("tokenizer.json", HfTokenizerJson.toJson(tiny()));
        Tokenizer t = Tokenizers.load(p);
        assertTrue(java.util.Arrays.equals(new int[]{257, 32, 257}, t.encode("abc abc", false)), java.util.Arrays.toString(t.encode("abc abc", false)));
        assertTrue(java.util.Arrays.equals(new int[]{258}, t.encode("<|end|>", false, true)));
    }

    @Test
    void truncatedOrGarbageTokenizerJson() throws IOException {
        String json = HfTokenizerJson.toJson(tiny());
        for (int cut : new int[]{0, 1, json.length() / 3, json.length() / 2, json.length() - 1}) {
            fails(write("tokenizer.json", json.substring(0, cut)));
        }
        Path garbage = dir.resolve("tokenizer.json");
        Files.write(garbage, new byte[]{(byte) 0xFF, (byte) 0xFE, 0, 1, 2, '{'});
        fails(garbage, "UTF-8");
        fails(write("tokenizer.json", "[1, 2, 3]"), "object");
        fails(write("tokenizer.json", "{\"model\": 5}"));
        fails(write("tokenizer.json", "{}"), "no model");
    }

    @Test
    void unsupportedComponentsAreNamed() throws IOException {
        Map<String, Object> j = tinyJson();
        j.put("pre_tokenizer", Map.of("type", "Whitespace"));
        fails(write("tokenizer.json", Json.write(j)), "pre_tokenizer type 'Whitespace' is not supported");
        j = tinyJson();
        j.put("normalizer", Map.of("type", "BertNormalizer"));
        fails(write("tokenizer.json", Json.write(j)), "normalizer type 'BertNormalizer' is not supported");
        j = tinyJson();
        j.put("decoder", Map.of("type", "WordPiece"));
        fails(write("tokenizer.json", Json.write(j)), "decoder type 'WordPiece' is not supported");
        for (String type : List.of("WordPiece", "Unigram", "WordLevel")) {
            j = tinyJson();
            ((Map<String, Object>) j.get("model")).put("type", type);
            fails(write("tokenizer.json", Json.write(j)), "model type '" + type + "' is not supported");
        }
        j = tinyJson();
        ((Map<String, Object>) j.get("model")).put("continuing_subword_prefix", "##");
        fails(write("tokenizer.json", Json.write(j)), "continuing_subword_prefix");
        j = tinyJson();
        j.put("pre_tokenizer", Map.of("type", "Split", "pattern", Map.of("Regex", "(unclosed"), "behavior", "Isolated", "invert", false));
        fails(write("tokenizer.json", Json.write(j)), "does not compile");
    }

    @Test
    @SuppressWarnings("unchecked")
    void mergesAndVocabularyThatDoNotFit() throws IOException {
        Map<String, Object> j = tinyJson();
        ((Map<String, Object>) j.get("model")).put("merges", List.of("a b", "x zz"));
        fails(write("tokenizer.json", Json.write(j)), "merge 2 'x zz'", "not in the vocabulary");
        j = tinyJson();
        ((Map<String, Object>) j.get("model")).put("merges", List.of("a b c"));
        fails(write("tokenizer.json", Json.write(j)), "merge 1");
        j = tinyJson();
        ((Map<String, Object>) j.get("model")).put("merges", List.of(List.of("a")));
        fails(write("tokenizer.json", Json.write(j)), "merge 1");
        j = tinyJson();
        ((Map<String, Object>) ((Map<String, Object>) j.get("model")).get("vocab")).put("zzz", "seven");
        fails(write("tokenizer.json", Json.write(j)), "'zzz'");
        j = tinyJson();
        ((Map<String, Object>) ((Map<String, Object>) j.get("model")).get("vocab")).put("zzz", 900);
        fails(write("tokenizer.json", Json.write(j)), "no token with id");
        j = tinyJson();
        j.put("added_tokens", List.of(Map.of("id", 5)));
        fails(write("tokenizer.json", Json.write(j)), "added token");
    }

    @Test
    void vocabJsonAndMergesTxt() throws IOException {
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int i = 0; i < tiny().vocab().size(); i++) vocab.put(tiny().vocab().get(i), i);
        write("vocab.json", Json.write(vocab));
        Path merges = write("merges.txt", "#version: 0.2\na b\nab c\n");
        assertTrue(Tokenizers.load(dir).encode("abc", false).length == 1);
        write("merges.txt", "#version: 0.2\na b\nab c d\n");
        fails(merges, "line 3");
        write("merges.txt", "#version: 0.2\na b\nq nothere\n");
        fails(merges, "nothere");
        write("merges.txt", "a b\n");
        write("vocab.json", "{\"a\": 0, \"b\": ");
        fails(dir.resolve("vocab.json"), "invalid JSON");
        write("vocab.json", Json.write(vocab));
        write("tokenizer_config.json", "{\"tokenizer_class\": \"BertTokenizer\"}");
        failsNaming(dir.resolve("vocab.json"), dir.resolve("tokenizer_config.json"), "tokenizer_class 'BertTokenizer'");
        write("tokenizer_config.json", "{\"added_tokens_decoder\": {\"x\": {\"content\": \"<a>\"}}}");
        failsNaming(dir.resolve("vocab.json"), dir.resolve("tokenizer_config.json"), "added_tokens_decoder");
    }

    @Test
    void tiktokenLines() throws IOException {
        StringBuilder sb = new StringBuilder();
        var b64 = java.util.Base64.getEncoder();
        for (int b = 0; b < 256; b++) sb.append(b64.encodeToString(new byte[]{(byte) b})).append(' ').append(b).append('\n');
        String good = sb.toString();
        Path p = write("tokenizer.model", good + b64.encodeToString("ab".getBytes()) + " 256\n");
        assertTrue(Tokenizers.load(p).encode("ab", false).length == 1);
        write("tokenizer.model", good + "!!notbase64 256\n");
        fails(p, "line 257");
        write("tokenizer.model", good + "YWI= 300\n");
        fails(p, "rank 300");
        write("tokenizer.model", good + "YWI=\n");
        fails(p, "line 257");
        write("tokenizer.model", "YQ== 0\n");
        fails(p, "only 1 tokens");
        Files.write(p, new byte[]{0x0A, 0x05, 'h', 'e', 'l', 'l', 'o'});
        fails(p, "not a valid SentencePiece model"); // protobuf-looking bytes go to the SentencePiece reader
    }

    @Test
    void ggufMetadata() {
        BpeTokenizer t = BpeTokenizer.of(tiny());
        Map<String, GgufValue> md = new LinkedHashMap<>(GgufBpe.metadata(t));
        BpeTokenizer back = GgufBpe.read(md, "x.gguf");
        assertTrue(java.util.Arrays.equals(t.encode("abcab", false), back.encode("abcab", false)));
        Map<String, GgufValue> bad = new LinkedHashMap<>(md);
        bad.put("tokenizer.ggml.pre", GgufValue.string("nonesuch"));
        LongbowException e = assertThrows(LongbowException.class, () -> Tokenizers.fromGguf(bad, "x.gguf"));
        assertTrue(e.getMessage().contains("x.gguf: pre-tokenizer 'nonesuch' is not supported (known: gpt-2,"), e.getMessage());
        Map<String, GgufValue> noMerges = new LinkedHashMap<>(md);
        noMerges.remove("tokenizer.ggml.merges");
        e = assertThrows(LongbowException.class, () -> Tokenizers.fromGguf(noMerges, "x.gguf"));
        assertTrue(e.getMessage().contains("missing tokenizer.ggml.merges"), e.getMessage());
        Map<String, GgufValue> badMerge = new LinkedHashMap<>(md);
        badMerge.put("tokenizer.ggml.merges", GgufValue.array(GgufValue.Type.STRING, List.of("a b", "ab")));
        e = assertThrows(LongbowException.class, () -> Tokenizers.fromGguf(badMerge, "x.gguf"));
        assertTrue(e.getMessage().contains("tokenizer.ggml.merges[1]"), e.getMessage());
        Map<String, GgufValue> badEos = new LinkedHashMap<>(md);
        badEos.put("tokenizer.ggml.eos_token_id", GgufValue.u32(99999));
        e = assertThrows(LongbowException.class, () -> Tokenizers.fromGguf(badEos, "x.gguf"));
        assertTrue(e.getMessage().contains("outside the vocabulary"), e.getMessage());
    }
}
