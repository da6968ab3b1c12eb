package dev.longbow.tokenizer;

import dev.longbow.LongbowException;
import dev.longbow.TestData;
import dev.longbow.format.GgufValue;
import dev.longbow.format.GgufVocab;
import dev.longbow.format.GgufWriter;
import dev.longbow.format.ModelFile;
import dev.longbow.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Mutated BPE tokenizer files (tokenizer.json, vocab.json + merges.txt, tiktoken, GGUF gpt2 metadata) either load
 * and tokenize, or fail with a LongbowException; never another exception, never a hang.
 */
class BpeFuzzTest {
    static final int CASES = 300;
    static final List<String> PROBES = List.of("", "Hello world", "abc abc <|end|>", "日本 🍕 12345", "  \n\t x");

    @TempDir
    Path dir;

    interface Case {
        Path make(int n, SplittableRandom r) throws IOException;
    }

    void fuzz(String what, Case c) {
        SplittableRandom r = new SplittableRandom(what.hashCode());
        int loaded = 0, rejected = 0;
        for (int n = 0; n < CASES; n++) {
            int caseNo = n;
            Path p;
            try {
                p = c.make(n, r);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
            boolean ok = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
                try {
                    Tokenizer t = Tokenizers.load(p);
                    for (String probe : PROBES) {
                        int[] ids = t.encode(probe, true, true);
                        t.decode(ids);
                    }
                    return true;
                } catch (LongbowException e) {
                    if (e.getMessage() == null || e.getMessage().contains("\n")) fail(what + " case " + caseNo + ": message not one line: " + e.getMessage());
                    return false;
                } catch (RuntimeException | StackOverflowError e) {
                    throw new AssertionError(what + " case " + caseNo + " (" + p + "): " + e, e);
                }
            }, what + " case " + n + " hangs");
            if (ok) loaded++;
            else rejected++;
        }
        System.out.printf("%s: %d mutated files, %d loaded, %d rejected with LongbowException%n", what, CASES, loaded, rejected);
    }

    static byte[] mutate(byte[] b, SplittableRandom r) {
        byte[] out = b.clone();
        int edits = 1 + r.nextInt(4);
        for (int e = 0; e < edits && out.length > 0; e++) {
            int at = r.nextInt(out.length);
            switch (r.nextInt(5)) {
                case 0 -> out[at] = (byte) r.nextInt(256);
                case 1 -> out[at] = (byte) "{}[]\",: 0123456789-\\".charAt(r.nextInt(20));
                case 2 -> out = java.util.Arrays.copyOf(out, at);
                case 3 -> {
                    byte[] shorter = new byte[out.length - 1];
                    System.arraycopy(out, 0, shorter, 0, at);
                    System.arraycopy(out, at + 1, shorter, at, out.length - at - 1);
                    out = shorter;
                }
                default -> {
                    int len = Math.min(out.length - at, 1 + r.nextInt(40));
                    int to = r.nextInt(out.length);
                    byte[] bigger = new byte[out.length + len];
                    System.arraycopy(out, 0, bigger, 0, to);
                    System.arraycopy(out, at, bigger, to, len);
                    System.arraycopy(out, to, bigger, to + len, out.length - to);
                    out = bigger;
                }
            }
        }
        return out;
    }

    @Test
    void tokenizerJson() {
        byte[] seed = HfTokenizerJson.toJson(BpeLoadErrorsTest.tiny()).getBytes(StandardCharsets.UTF_8);
        fuzz("tokenizer.json", (n, r) -> Files.write(dir.resolve("tokenizer.json"), mutate(seed, r)));
    }

    @Test
    void vocabAndMerges() throws IOException {
        BpeSpec tiny = BpeLoadErrorsTest.tiny();
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int i = 0; i < tiny.vocab().size(); i++) vocab.put(tiny.vocab().get(i), i);
        byte[] vocabSeed = Json.write(vocab).getBytes(StandardCharsets.UTF_8);
        byte[] mergesSeed = "#version: 0.2\na b\nab c\n".getBytes(StandardCharsets.UTF_8);
        fuzz("vocab.json+merges.txt", (n, r) -> {
            boolean mutateVocab = r.nextBoolean();
            Files.write(dir.resolve("vocab.json"), mutateVocab ? mutate(vocabSeed, r) : vocabSeed);
            Files.write(dir.resolve("merges.txt"), mutateVocab ? mergesSeed : mutate(mergesSeed, r));
            return dir;
        });
    }

    @Test
    void tiktoken() {
        StringBuilder sb = new StringBuilder();
        var b64 = java.util.Base64.getEncoder();
        for (int b = 0; b < 256; b++) sb.append(b64.encodeToString(new byte[]{(byte) b})).append(' ').append(b).append('\n');
        for (String t : List.of("ab", "abc", "  ", "the", " the")) sb.append(b64.encodeToString(t.getBytes())).append(' ').append(256 + List.of("ab", "abc", "  ", "the", " the").indexOf(t)).append('\n');
        byte[] seed = sb.toString().getBytes(StandardCharsets.US_ASCII);
        fuzz("tiktoken", (n, r) -> Files.write(dir.resolve("tokenizer.model"), mutate(seed, r)));
    }

    @Test
    void ggufMetadata() throws IOException {
        Map<String, GgufValue> md;
        try (ModelFile f = GgufVocab.open(TestData.shared("vocab/ggml-vocab-gpt-2.gguf"))) {
            md = new LinkedHashMap<>(f.metadata());
        }
        List<String> keys = new ArrayList<>();
        for (String k : md.keySet()) if (k.startsWith("tokenizer.")) keys.add(k);
        fuzz("gguf gpt2 metadata", (n, r) -> {
            Map<String, GgufValue> m = new LinkedHashMap<>(md);
            String key = keys.get(r.nextInt(keys.size()));
            GgufValue v = m.get(key);
            switch (r.nextInt(6)) {
                case 0 -> m.remove(key);
                case 1 -> m.put(key, GgufValue.string("gpt-3"));
                case 2 -> m.put(key, GgufValue.u32(r.nextInt(100_000)));
                case 3 -> m.put(key, GgufValue.array(GgufValue.Type.INT32, List.of(1L, 2L, 3L)));
                case 4 -> {
                    if (v.type() == GgufValue.Type.ARRAY) {
                        List<Object> items = new ArrayList<>(v.asArray().items());
                        items.subList(r.nextInt(items.size()), items.size()).clear();
                        m.put(key, GgufValue.array(v.asArray().elementType(), items));
                    } else {
                        m.put(key, GgufValue.bool(r.nextBoolean()));
                    }
                }
                default -> {
                    if (v.type() == GgufValue.Type.ARRAY && v.asArray().elementType() == GgufValue.Type.STRING) {
                        List<Object> items = new ArrayList<>(v.asArray().items());
                        int i = r.nextInt(items.size());
                        items.set(i, List.of("", " ", "a  b", "Ġ", "\uFFFD").get(r.nextInt(5)));
                        m.put(key, GgufValue.array(GgufValue.Type.STRING, items));
                    } else {
                        m.put(key, GgufValue.string("llama-bpe"));
                    }
                }
            }
            Path p = dir.resolve("case.gguf");
            GgufWriter.write(p, m, List.of());
            return p;
        });
    }
}
