package dev.longbow.tokenizer;

import dev.longbow.TestData;
import dev.longbow.convert.GgufConverter;
import dev.longbow.util.Json;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every golden made by scripts/tokenizer-goldens/spm_goldens.py with the sentencepiece library (ids and decoded text
 * of ~470 corpus and edge-case texts, 150 random id sequences to decode, and 300 random strings the implementation
 * was not tuned on) must come out identically from every file a user may hold the vocabulary in: the
 * SentencePiece {@code .model}, llama2.c's {@code tokenizer.bin}, llama.cpp's GGUF, and the GGUF metadata Longbow's
 * converter writes.
 */
class SentencePieceGoldenTest {
    static final Path GOLDENS = Path.of("src/test/resources/tokenizer");
    private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();

    record Golden(String kind, String text, int[] ids, String decode) {}

    record Source(String label, Supplier<Tokenizer> tokenizer) {}

    static Tokenizer load(String key, Supplier<Tokenizer> loader) {
        Tokenizer t = LOADED.get(key);
        if (t == null) LOADED.put(key, t = loader.get());
        return t;
    }

    static Tokenizer shared(String relative) {
        Path p = TestData.shared(relative);
        return load(relative, () -> Tokenizers.load(p));
    }

    static Tokenizer resource(String name) {
        return load(name, () -> Tokenizers.load(GOLDENS.resolve(name)));
    }

    /** The vocabulary of {@code t} written as GGUF metadata by the converter and read back. */
    static Tokenizer viaGguf(String key, Supplier<Tokenizer> t) {
        return load("gguf:" + key, () -> Tokenizers.fromGguf(GgufConverter.tokenizerMetadata(t.get()), "converted " + key));
    }

    /** Golden file name (without suffix) to the sources that must reproduce it. */
    static Map<String, List<Source>> sources() {
        Map<String, List<Source>> m = new LinkedHashMap<>();
        m.put("llama2", List.of(
                new Source("llama2-tokenizer.model", () -> shared("models/llama2-tokenizer.model")),
                new Source("llama2-tokenizer.bin", () -> shared("models/llama2-tokenizer.bin")),
                new Source("ggml-vocab-llama-spm.gguf", () -> shared("vocab/ggml-vocab-llama-spm.gguf")),
                new Source("GGUF converted from llama2-tokenizer.model", () -> viaGguf("llama2", () -> shared("models/llama2-tokenizer.model")))));
        m.put("tok105", List.of(new Source("tok105.model", () -> shared("models/tok105.model"))));
        m.put("tok105-bin", List.of(
                new Source("tok105.bin", () -> shared("models/tok105.bin")),
                new Source("GGUF converted from tok105.bin", () -> viaGguf("tok105", () -> shared("models/tok105.bin")))));
        m.put("nfkc-bpe", List.of(new Source("spm-nfkc-bpe.model", () -> resource("spm-nfkc-bpe.model"))));
        m.put("suffix-bpe", List.of(new Source("spm-suffix-bpe.model", () -> resource("spm-suffix-bpe.model"))));
        m.put("suffix-unused", List.of(new Source("spm-suffix-unused.model", () -> resource("spm-suffix-unused.model"))));
        return m;
    }

    static List<Golden> read(String file) throws IOException {
        List<Golden> out = new ArrayList<>();
        for (String line : Files.readAllLines(GOLDENS.resolve(file), StandardCharsets.US_ASCII)) {
            if (line.isBlank()) continue;
            Map<String, Object> o = Json.parseObject(line, file);
            String kind = (String) o.get("kind");
            if (kind.equals("meta")) continue;
            List<?> ids = (List<?>) o.get("ids");
            out.add(new Golden(kind, (String) o.get("text"), ids.stream().mapToInt(x -> ((Long) x).intValue()).toArray(), (String) o.get("decode")));
        }
        return out;
    }

    @TestFactory
    List<DynamicTest> everyGoldenFromEverySource() {
        List<DynamicTest> tests = new ArrayList<>();
        for (var e : sources().entrySet()) {
            for (String file : List.of("spm-" + e.getKey() + ".jsonl", "spm-" + e.getKey() + "-random.jsonl")) {
                for (Source s : e.getValue()) {
                    tests.add(DynamicTest.dynamicTest(file + " via " + s.label(), () -> check(file, s)));
                }
            }
        }
        return tests;
    }

    private static void check(String file, Source source) throws IOException {
        Tokenizer tok = source.tokenizer().get();
        List<Golden> goldens = read(file);
        int texts = 0, textsOk = 0, decodes = 0, decodesOk = 0;
        List<String> failures = new ArrayList<>();
        for (Golden g : goldens) {
            if (g.kind().equals("decode")) {
                decodes++;
                String got = tok.decode(g.ids());
                if (got.equals(g.decode()) && streamed(tok, g.ids()).equals(g.decode())) decodesOk++;
                else failures.add("decode " + Arrays.toString(g.ids()) + ": expected " + Json.write(g.decode()) + ", got " + Json.write(got));
                continue;
            }
            texts++;
            int[] ids = tok.encode(g.text(), false);
            int[] withBos = tok.encode(g.text(), true);
            String decoded = tok.decode(g.ids());
            boolean ok = Arrays.equals(ids, g.ids()) && decoded.equals(g.decode()) && streamed(tok, g.ids()).equals(g.decode())
                    && withBos.length == ids.length + 1 && withBos[0] == tok.bos() && Arrays.equals(Arrays.copyOfRange(withBos, 1, withBos.length), ids);
            if (ok) textsOk++;
            else failures.add(Json.write(g.text()) + ": expected " + Arrays.toString(g.ids()) + " " + Json.write(g.decode()) + ", got "
                    + Arrays.toString(ids) + " " + Json.write(decoded));
        }
        System.out.printf("%-30s via %-44s %d/%d texts%s identical to sentencepiece%n", file, source.label(), textsOk, texts,
                decodes == 0 ? "" : ", " + decodesOk + "/" + decodes + " id sequences decoded");
        assertTrue(failures.isEmpty(), failures.size() + " mismatches in " + file + " via " + source.label() + ", first:\n"
                + String.join("\n", failures.subList(0, Math.min(5, failures.size()))));
        assertTrue(texts > 0, "no goldens in " + file);
    }

    /** The text a streaming decoder gives for {@code ids}, checking that no step ends in half a surrogate pair. */
    static String streamed(Tokenizer tok, int[] ids) {
        TokenDecoder d = tok.decoder();
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            String s = d.next(id);
            if (!s.isEmpty() && Character.isHighSurrogate(s.charAt(s.length() - 1))) throw new AssertionError("half a character after token " + id);
            sb.append(s);
        }
        return sb.append(d.flush()).toString();
    }

    @Test
    void goldensWereMadeFromTheseModelFiles() throws Exception {
        Map<String, Path> models = new LinkedHashMap<>();
        models.put("spm-llama2.jsonl", TestData.shared("models/llama2-tokenizer.model"));
        models.put("spm-tok105.jsonl", TestData.shared("models/tok105.model"));
        models.put("spm-nfkc-bpe.jsonl", GOLDENS.resolve("spm-nfkc-bpe.model"));
        models.put("spm-suffix-bpe.jsonl", GOLDENS.resolve("spm-suffix-bpe.model"));
        models.put("spm-suffix-unused.jsonl", GOLDENS.resolve("spm-suffix-unused.model"));
        for (var e : models.entrySet()) {
            String meta = Files.readAllLines(GOLDENS.resolve(e.getKey())).getFirst();
            String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(e.getValue())));
            assertEquals(sha, Json.parseObject(meta, e.getKey()).get("sha256"), e.getKey() + " was made from another " + e.getValue().getFileName());
        }
    }

    /** llama.cpp's own test vectors for this vocabulary (tests/test-tokenizer-0), against every source. */
    @TestFactory
    List<DynamicTest> llamaCppVectors() throws IOException {
        String inp = Files.readString(TestData.shared("vocab/ggml-vocab-llama-spm.gguf.inp"), StandardCharsets.UTF_8);
        List<String> texts = new ArrayList<>(Arrays.asList(inp.split("\n__ggml_vocab_test__\n", -1)));
        if (texts.getLast().isEmpty()) texts.removeLast();
        List<String> out = Files.readAllLines(TestData.shared("vocab/ggml-vocab-llama-spm.gguf.out"), StandardCharsets.UTF_8);
        assertEquals(texts.size(), out.size(), ".inp and .out disagree in length");
        List<DynamicTest> tests = new ArrayList<>();
        for (Source s : sources().get("llama2")) {
            tests.add(DynamicTest.dynamicTest(s.label(), () -> {
                Tokenizer tok = s.tokenizer().get();
                int ok = 0;
                List<String> failures = new ArrayList<>();
                for (int i = 0; i < texts.size(); i++) {
                    String line = out.get(i).strip();
                    int[] expected = line.isEmpty() ? new int[0] : Arrays.stream(line.split(" ")).mapToInt(Integer::parseInt).toArray();
                    int[] got = tok.encode(texts.get(i), false);
                    if (Arrays.equals(expected, got)) ok++;
                    else failures.add(Json.write(texts.get(i)) + ": expected " + Arrays.toString(expected) + ", got " + Arrays.toString(got));
                }
                System.out.printf("llama.cpp vectors via %-44s %d/%d identical%n", s.label(), ok, texts.size());
                assertEquals(texts.size(), ok, String.join("\n", failures));
            }));
        }
        return tests;
    }
}
