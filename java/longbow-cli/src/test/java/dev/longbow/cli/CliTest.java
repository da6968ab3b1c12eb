package dev.longbow.cli;

import dev.longbow.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CliTest {
    @TempDir
    Path dir;

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Path root() {
        Path p = Path.of("").toAbsolutePath();
        while (!Files.isDirectory(p.resolve("models"))) p = p.getParent();
        return p;
    }

    static Path model() {
        return root().resolve("models/stories260K.bin");
    }

    /** A user error: exit 1, exactly one line on stderr starting "longbow: ", no stack trace. */
    static void assertOneLineError(Run r, String mustContain) {
        assertEquals(1, r.code(), r.err());
        String[] lines = r.err().strip().split("\n");
        assertEquals(1, lines.length, "expected one line, got:\n" + r.err());
        assertTrue(lines[0].startsWith("longbow: "), lines[0]);
        assertFalse(lines[0].contains("Exception") || lines[0].contains("internal error"), lines[0]);
        assertTrue(lines[0].contains(mustContain), "'" + lines[0] + "' should mention " + mustContain);
    }

    @Test
    void versionAndHelp() {
        Run v = run("--version");
        assertEquals(0, v.code());
        assertTrue(v.out().startsWith("longbow "), v.out());
        for (String c : List.of("generate", "batch", "tokenize", "inspect", "convert", "synth", "bench", "train-tokenizer", "rope-table",
                "perplexity", "passkey", "long-context-report")) {
            Run h = run(c, "--help");
            assertEquals(0, h.code());
            assertTrue(h.out().startsWith("usage: longbow " + c), h.out());
        }
    }

    @Test
    void ropeTable() {
        Run plain = run("rope-table", "--head-dim", "8", "--base", "10000", "--json");
        assertEquals(0, plain.code(), plain.err());
        Map<?, ?> o = (Map<?, ?>) Json.parse(plain.out());
        List<?> inv = (List<?>) o.get("inv_freq");
        assertEquals(4, inv.size());
        assertEquals(1.0, ((Number) inv.get(0)).doubleValue());
        assertEquals(0.1, ((Number) inv.get(1)).doubleValue(), 1e-7);
        assertEquals(1.0, ((Number) o.get("attention_factor")).doubleValue());
        assertFalse(o.containsKey("attention_temperature"));

        Map<?, ?> yarn = (Map<?, ?>) Json.parse(run("rope-table", "--head-dim", "128", "--rope-scaling", "yarn", "--rope-factor", "4",
                "--rope-original-ctx", "4096", "--json").out());
        assertEquals(0.1 * Math.log(4) + 1, ((Number) yarn.get("attention_factor")).doubleValue(), 1e-6);

        Map<?, ?> elastic = (Map<?, ?>) Json.parse(run("rope-table", "--head-dim", "64", "--rope-scaling", "elastic", "--ctx", "1000",
                "--seq-len", "2000", "--json").out());
        assertEquals(1 + 0.1 * Math.log(2), ((Number) elastic.get("attention_temperature")).doubleValue(), 1e-6);

        Run longrope = run("rope-table", "--head-dim", "8", "--rope-scaling", "longrope", "--ctx", "8192", "--rope-original-ctx", "4096",
                "--rope-short-factor", "1,1,1,1", "--rope-long-factor", "2,2,2,2", "--seq-len", "5000");
        assertEquals(0, longrope.code(), longrope.err());
        assertTrue(longrope.out().contains("   0  0.5 "), longrope.out());

        assertOneLineError(run("rope-table", "--head-dim", "8", "--rope-scaling", "frob"), "unknown --rope-scaling 'frob'");
        assertOneLineError(run("rope-table", "--head-dim", "8", "--rope-scaling", "linear", "--rope-factor", "-2"), "positive");
        assertOneLineError(run("rope-table", "--head-dim", "8", "--rope-scaling", "linear"), "needs --rope-factor");
        assertOneLineError(run("rope-table", "--head-dim", "8", "--rope-scaling", "dynamic", "--rope-factor", "2"), "--rope-original-ctx");
        assertOneLineError(run("rope-table", "--rope-scaling", "none"), "--head-dim");
        assertOneLineError(run("rope-table", "--head-dim", "7"), "even");
        assertOneLineError(run("rope-table", "--head-dim", "8", "--rope-scaling", "longrope", "--ctx", "8192", "--rope-original-ctx", "4096",
                "--rope-short-factor", "1,1,1", "--rope-long-factor", "2,2,2,2"), "need 4 values");
        assertOneLineError(run("rope-table", "--head-dim", "8", "--rope-scaling", "longrope", "--ctx", "8192", "--rope-original-ctx", "4096",
                "--rope-short-factor", "1,x,1,1", "--rope-long-factor", "2,2,2,2"), "comma-separated numbers");
    }

    @Test
    void badCommandsAndOptionsAreOneLine() {
        assertOneLineError(run("frobnicate"), "unknown command");
        assertOneLineError(run("generate", "--model", model().toString(), "--bogus"), "--bogus");
        assertOneLineError(run("generate", "--model", model().toString(), "--max-tokens"), "needs a value");
        assertOneLineError(run("generate", "--model", model().toString(), "--max-tokens", "ten"), "integer");
        assertOneLineError(run("generate", "--model", model().toString(), "--temperature", "-1"), "temperature");
        assertOneLineError(run("generate", "--model", model().toString(), "--top-p", "0"), "top-p");
        assertOneLineError(run("generate", "--model", dir.resolve("missing.bin").toString()), "no such file");
        assertOneLineError(run("convert", "--model", model().toString(), "--out", dir.resolve("x.gguf").toString(), "--type", "q3_k"), "q3_k");
        assertOneLineError(run("synth", "--shape", "gpt-5", "--out", dir.resolve("s.gguf").toString()), "unknown shape");
    }

    @Test
    void badModelFilesAreOneLine() throws Exception {
        byte[] good = Files.readAllBytes(model());
        Path truncated = dir.resolve("truncated.bin");
        Files.write(truncated, Arrays.copyOf(good, good.length / 2));
        assertOneLineError(run("generate", "--model", truncated.toString(), "--tokenizer", root().resolve("models/tok512.bin").toString()), "truncated");
        Path junk = dir.resolve("junk.gguf");
        Files.write(junk, "GGUF\3\0\0\0this is not really a gguf".getBytes(StandardCharsets.ISO_8859_1));
        assertOneLineError(run("inspect", "--model", junk.toString()), junk.toString());
        Path empty = dir.resolve("empty.bin");
        Files.write(empty, new byte[0]);
        assertOneLineError(run("inspect", "--model", empty.toString()), "empty");
        Path hf = dir.resolve("hf");
        Files.createDirectories(hf);
        Files.writeString(hf.resolve("config.json"), "{\"model_type\": \"llama\", \"hidden_size\": 64");
        Files.write(hf.resolve("model.safetensors"), new byte[16]);
        assertOneLineError(run("inspect", "--model", hf.toString()), "config.json");
    }

    @Test
    void promptLongerThanTheContextIsRefused() {
        String prompt = "Once upon a time there was a dog. ".repeat(60);
        assertOneLineError(run("generate", "--model", model().toString(), "--prompt", prompt), "exceeds the context length");
        assertOneLineError(run("generate", "--model", model().toString(), "--prompt", "Once upon a time there was a dog.", "--ctx", "4"),
                "exceeds the context length of 4");
        // The cache reserves memory block by block as positions are written: a huge --ctx costs nothing up front (the
        // refusal when the next block would not fit in memory is tested in KvCacheTest).
        assertEquals(0, run("generate", "--model", model().toString(), "--prompt", "hi", "--ctx", "2000000000", "--max-tokens", "5").code());
    }

    @Test
    void kvCacheTypesAndStreamingPastTheContext() {
        assertOneLineError(run("generate", "--model", model().toString(), "--prompt", "hi", "--kv-type", "q4"), "(one of f32, f16, q8)");
        String[] base = {"generate", "--model", model().toString(), "--prompt", "Once upon a time", "--temperature", "0", "--json"};
        // One block of 64 positions of 5 layers: per position and layer, 4 KV heads of 8 keys and 8 values.
        Map<String, Object> f32 = json(run(concat(base, "--max-tokens", "20")));
        Map<String, Object> q8 = json(run(concat(base, "--max-tokens", "20", "--kv-type", "q8")));
        assertEquals(64L * 5 * 2 * 4 * 8 * 4, f32.get("kv_cache_bytes"));
        assertEquals(64L * 5 * 2 * 4 * (8 + 4), q8.get("kv_cache_bytes"), "int8 and a float scale per head");
        assertEquals(20L, q8.get("generated_tokens"));

        // A window and sinks run past --ctx with the cache bounded: the sinks' block and the two a window of 32 spans.
        Map<String, Object> s = json(run(concat(base, "--attn-window", "32", "--attn-sinks", "4", "--ctx", "64", "--max-tokens", "300")));
        assertEquals("max_tokens", s.get("stop_reason"));
        assertEquals(300L, s.get("generated_tokens"));
        assertEquals(3 * 64L * 5 * 2 * 4 * 8 * 4, s.get("kv_cache_bytes"));
        // Even the prompt may be longer than the context.
        String prompt = "Once upon a time there was a dog. ".repeat(20);
        Map<String, Object> p = json(run("generate", "--model", model().toString(), "--prompt", prompt, "--attn-window", "32", "--attn-sinks", "4",
                "--ctx", "64", "--max-tokens", "10", "--kv-type", "f16", "--json"));
        assertTrue((Long) p.get("prompt_tokens") > 64, p.toString());
        assertEquals(10L, p.get("generated_tokens"));
    }

    @Test
    void generationReachingTheContextSaysSo() {
        Run r = run("generate", "--model", model().toString(), "--prompt", "Once upon a time", "--ctx", "40", "--max-tokens", "600",
                "--temperature", "0", "--json");
        assertEquals(0, r.code(), r.err());
        Map<String, Object> o = Json.parseObject(r.out().strip(), "output");
        assertEquals("context_full", o.get("stop_reason"));
        assertEquals(40L, (Long) o.get("prompt_tokens") + (Long) o.get("generated_tokens") - 1);
        assertTrue(r.err().contains("reached the context length of 40"), r.err());
    }

    @Test
    void generateJsonAndSeeds() {
        String[] base = {"generate", "--model", model().toString(), "--prompt", "Lily saw a bird", "--max-tokens", "30", "--json"};
        Map<String, Object> a = json(run(concat(base, "--seed", "7")));
        Map<String, Object> b = json(run(concat(base, "--seed", "7")));
        assertEquals(a.get("text"), b.get("text"), "same seed, same text");
        assertEquals(7L, a.get("seed"));
        for (String key : List.of("prompt_tokens", "generated_tokens", "prefill_tok_s", "decode_tok_s", "ttft_ms", "stop_reason")) {
            assertTrue(a.containsKey(key), key);
        }
        Map<String, Object> greedy = json(run(concat(base, "--temperature", "0")));
        Map<String, Object> topK1 = json(run(concat(base, "--top-k", "1", "--seed", "3")));
        assertEquals(greedy.get("text"), topK1.get("text"), "top-k 1 is greedy");
    }

    @Test
    void benchReportsSpeedsAndTheBandwidthBound() {
        Map<String, Object> o = json(run("bench", "--model", model().toString(), "--prompt-tokens", "16", "--gen-tokens", "8",
                "--bandwidth", "10", "--threads", "1", "--json"));
        for (String key : List.of("prefill_tok_s", "decode_tok_s", "ttft_ms", "model_bytes", "threads", "bandwidth_bound_tok_s")) {
            assertTrue(o.containsKey(key), key + " in " + o);
        }
        assertEquals(16L, o.get("prompt_tokens"));
        assertEquals(8L, o.get("gen_tokens"));
        assertTrue(((Number) o.get("decode_tok_s")).doubleValue() > 0);
        // 10 GB/s over the weight bytes read per token.
        double bound = 10e9 / ((Number) o.get("decode_bytes_per_token")).doubleValue();
        assertEquals(bound, ((Number) o.get("bandwidth_bound_tok_s")).doubleValue(), bound * 1e-3);
        assertOneLineError(run("bench", "--model", model().toString(), "--prompt-tokens", "600"), "exceed the context");
        assertOneLineError(run("bench", "--model", model().toString(), "--gen-tokens", "1"), "--gen-tokens");
    }

    /** A file or folder under ../shared, or null (the test then checks only what needs no shared data). */
    static Path shared(String relative) {
        String env = System.getenv("LONGBOW_SHARED");
        Path p = (env != null ? Path.of(env) : root().resolve("../shared").normalize()).resolve(relative);
        return Files.exists(p) ? p : null;
    }

    @Test
    void tokenizeEveryKindOfSource() throws Exception {
        // The bundled llama2.c vocabulary: encode, decode back, special tokens only when asked.
        String tok = root().resolve("models/tok512.bin").toString();
        Map<String, Object> plain = json(run("tokenize", "--tokenizer", tok, "--text", "<s>Hi", "--no-bos", "--json"));
        Map<String, Object> special = json(run("tokenize", "--tokenizer", tok, "--text", "<s>Hi", "--no-bos", "--parse-special", "--json"));
        assertEquals(1L, ((List<?>) special.get("ids")).get(0), "with --parse-special <s> is BOS");
        assertFalse(((List<?>) plain.get("ids")).contains(1L), "without it <s> is text");
        Map<String, Object> ids = json(run("tokenize", "--tokenizer", tok, "--text", "Once upon a time", "--no-bos", "--json"));
        String list = ((List<?>) ids.get("ids")).stream().map(String::valueOf).reduce((a, b) -> a + "," + b).orElseThrow();
        assertEquals("Once upon a time", json(run("tokenize", "--tokenizer", tok, "--decode", list, "--json")).get("text"));
        Path text = dir.resolve("in.txt");
        Files.writeString(text, "Once upon a time");
        assertEquals(ids.get("ids"), json(run("tokenize", "--tokenizer", tok, "--text-file", text.toString(), "--no-bos", "--json")).get("ids"));

        assertOneLineError(run("tokenize", "--tokenizer", tok, "--decode", "1,99999"), "outside the vocabulary");
        assertOneLineError(run("tokenize", "--tokenizer", tok), "exactly one of");
        Path bad = dir.resolve("tokenizer.json");
        Files.writeString(bad, "{\"model\": {\"type\": \"WordPiece\"}}");
        assertOneLineError(run("tokenize", "--tokenizer", bad.toString(), "--text", "x"), "tokenizer.json");
        Files.write(dir.resolve("latin1.txt"), new byte[]{'c', 'a', 'f', (byte) 0xE9});
        assertOneLineError(run("tokenize", "--tokenizer", tok, "--text-file", dir.resolve("latin1.txt").toString()), "not valid UTF-8");

        // The released vocabularies, by file and by folder, when ../shared is here.
        Path spm = shared("models/llama2-tokenizer.model"), gpt2 = shared("vocab/gpt2"), llama3 = shared("vocab/llama3"), qwen2 = shared("vocab/qwen2");
        if (spm != null) {
            assertEquals(List.of(1L, 15043L, 3186L), json(run("tokenize", "--tokenizer", spm.toString(), "--text", "Hello world", "--json")).get("ids"));
        }
        if (gpt2 != null) {
            assertEquals(List.of(15496L, 995L), json(run("tokenize", "--tokenizer", gpt2.toString(), "--text", "Hello world", "--json")).get("ids"));
        }
        if (llama3 != null) {
            assertEquals(List.of(128000L, 9906L, 1917L), json(run("tokenize", "--tokenizer", llama3.toString(), "--text", "Hello world", "--json")).get("ids"));
            assertEquals(List.of(128000L, 128006L, 882L, 128007L), json(run("tokenize", "--tokenizer", llama3.toString(),
                    "--text", "<|start_header_id|>user<|end_header_id|>", "--parse-special", "--json")).get("ids"));
        }
        if (qwen2 != null) {
            assertEquals("Hello world", run("tokenize", "--tokenizer", qwen2.toString(), "--decode", "9707 1879").out().strip());
        }
    }

    @Test
    void tokenizeJson() {
        Map<String, Object> o = json(run("tokenize", "--model", model().toString(), "--text", "Once upon a time", "--json"));
        assertEquals(List.of(1L, 403L, 407L, 261L, 378L), o.get("ids"));
        assertEquals(5, ((List<?>) o.get("pieces")).size());
        Map<String, Object> noBos = json(run("tokenize", "--tokenizer", root().resolve("models/tok512.bin").toString(), "--text", "Once upon a time", "--no-bos", "--json"));
        assertEquals(List.of(403L, 407L, 261L, 378L), noBos.get("ids"));
    }

    @Test
    void convertSynthInspectAndGenerateOnTheResult() {
        Path gguf = dir.resolve("q8.gguf");
        assertEquals(0, run("convert", "--model", model().toString(), "--out", gguf.toString(), "--type", "q8_0").code());
        Map<String, Object> info = json(run("inspect", "--model", gguf.toString(), "--json"));
        assertEquals("gguf", info.get("format"));
        assertEquals("llama", ((Map<?, ?>) info.get("config")).get("architecture"));
        Map<String, Object> g = json(run("generate", "--model", gguf.toString(), "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "20", "--json"));
        assertTrue(((String) g.get("text")).length() > 20, g.toString());

        Path synth = dir.resolve("s.gguf");
        Run s = run("synth", "--shape", "stories15m", "--type", "q4_0", "--out", synth.toString());
        assertEquals(0, s.code(), s.err());
        Map<String, Object> sinfo = json(run("inspect", "--model", synth.toString(), "--json"));
        assertEquals(288L, ((Map<?, ?>) sinfo.get("config")).get("dim"));
        Run sg = run("generate", "--model", synth.toString(), "--prompt", "a b c", "--max-tokens", "8", "--json");
        assertEquals(0, sg.code(), sg.err());
        assertEquals(8L, json(sg).get("generated_tokens"));
    }

    @Test
    void trainTokenizerWritesTokenizerJsonAndRejectsBadOptions() throws Exception {
        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, "the cat sat on the mat, and the dog sat on the log.\nOnce upon a time there was a cat.\n".repeat(40));
        Path out = dir.resolve("tokenizer.json");
        Run r = run("train-tokenizer", "--input", corpus.toString(), "--input", corpus.toString(), "--vocab-size", "280", "--kind", "byte-bpe",
                "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("wrote " + out + ": 280 tokens"), r.out());
        Map<String, Object> json = Json.parseObject(Files.readString(out), "tokenizer.json");
        Map<?, ?> model = (Map<?, ?>) json.get("model");
        assertEquals(280, ((Map<?, ?>) model.get("vocab")).size());
        assertEquals(280 - 257, ((List<?>) model.get("merges")).size());
        assertEquals("<|endoftext|>", ((Map<?, ?>) ((List<?>) json.get("added_tokens")).get(0)).get("content"));

        Path llama = dir.resolve("llama.json");
        Run b = run("train-tokenizer", "--input", corpus.toString(), "--vocab-size", "300", "--kind", "bpe", "--out", llama.toString(),
                "--special", "<pad>", "--character-coverage", "1", "--min-frequency", "3");
        assertEquals(0, b.code(), b.err());
        Map<?, ?> llamaVocab = (Map<?, ?>) ((Map<?, ?>) Json.parseObject(Files.readString(llama), "tokenizer.json").get("model")).get("vocab");
        assertEquals(3L, llamaVocab.get("<pad>"));
        assertEquals(4L, llamaVocab.get("<0x00>"));

        String c = corpus.toString(), o = dir.resolve("x.json").toString();
        assertOneLineError(run("train-tokenizer", "--input", dir.resolve("missing.txt").toString(), "--vocab-size", "300", "--kind", "bpe", "--out", o),
                "no such file");
        assertOneLineError(run("train-tokenizer", "--input", c, "--vocab-size", "100", "--kind", "byte-bpe", "--out", o), "below the alphabet");
        assertOneLineError(run("train-tokenizer", "--input", c, "--vocab-size", "265", "--kind", "bpe", "--out", o), "below the alphabet");
        assertOneLineError(run("train-tokenizer", "--input", c, "--vocab-size", "300", "--kind", "wordpiece", "--out", o), "unknown tokenizer kind");
        assertOneLineError(run("train-tokenizer", "--input", c, "--vocab-size", "300", "--kind", "bpe"), "required");
        assertOneLineError(run("train-tokenizer", "--input", c, "--vocab-size", "many", "--kind", "bpe", "--out", o), "integer");
        assertOneLineError(run("train-tokenizer", "--input", c, "--vocab-size", "300", "--kind", "byte-bpe", "--out", o, "--character-coverage", "0.9"),
                "bpe only");
        assertOneLineError(run("train-tokenizer", "--input", c, "--vocab-size", "300", "--kind", "bpe", "--out", o, "--character-coverage", "1.5"),
                "character coverage");
        assertFalse(Files.exists(dir.resolve("x.json")));
    }

    @Test
    void kQuantSynthInspectGenerateAndConvertFallback() {
        Path synth = dir.resolve("k.gguf");
        Run s = run("synth", "--shape", "tiny-256", "--type", "q4_k", "--out", synth.toString());
        assertEquals(0, s.code(), s.err());
        Map<String, Object> info = json(run("inspect", "--model", synth.toString(), "--json"));
        for (Object t : (List<?>) info.get("tensors")) {
            Map<?, ?> tensor = (Map<?, ?>) t;
            boolean matrix = ((List<?>) tensor.get("shape")).size() == 2;
            assertEquals(matrix ? "Q4_K" : "F32", tensor.get("type"), tensor.toString());
        }
        Run g = run("generate", "--model", synth.toString(), "--prompt", "a b c", "--max-tokens", "8", "--json");
        assertEquals(8L, json(g).get("generated_tokens"));

        // The bundled model's rows (64, 172 values) are not super-blocks: they fall back to Q8_0 and F16.
        Path converted = dir.resolve("q6_k.gguf");
        assertEquals(0, run("convert", "--model", model().toString(), "--out", converted.toString(), "--type", "q6_k").code());
        Map<String, Object> cinfo = json(run("inspect", "--model", converted.toString(), "--json"));
        List<Object> types = new ArrayList<>();
        for (Object t : (List<?>) cinfo.get("tensors")) types.add(((Map<?, ?>) t).get("type"));
        assertTrue(types.contains("Q8_0") && !types.contains("Q6_K"), types.toString());
        assertOneLineError(run("convert", "--model", model().toString(), "--out", converted.toString(), "--type", "q3_k"), "q4_k, q5_k, q6_k");
    }

    static Map<String, Object> json(Run r) {
        assertEquals(0, r.code(), r.err());
        return Json.parseObject(r.out().strip(), "output");
    }

    static String[] concat(String[] a, String... b) {
        String[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
