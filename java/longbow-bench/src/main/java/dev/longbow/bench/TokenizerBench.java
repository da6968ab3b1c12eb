package dev.longbow.bench;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import dev.longbow.convert.Synth;
import dev.longbow.tensor.WeightType;
import dev.longbow.tokenizer.BpeTokenizer;
import dev.longbow.tokenizer.HfTokenizerJson;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;
import dev.longbow.util.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Encoding throughput of Longbow's tokenizers beside the references on the same text in one run: SentencePiece
 * (Python, for tokenizer.model files), Hugging Face tokenizers (Rust through DJL, on the tokenizer.json Longbow
 * writes for the same vocabulary) and llama.cpp (through de.kherud:llama, on a tiny GGUF carrying the vocabulary).
 * Every engine encodes the same chunks single-threaded; the ids are compared chunk by chunk so a fast wrong answer
 * cannot pass as a result.
 */
public final class TokenizerBench {
    private static final int CHUNK_CHARS = 4096;

    record Result(String vocab, String engine, double mbPerSecond, long tokens, int identicalChunks, int chunks) {}

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = options(args);
        Path shared = Path.of(opt.getOrDefault("--shared", "../shared"));
        Path textFile = Path.of(opt.getOrDefault("--text", shared.resolve("data/moby-dick-pg2701.txt").toString()));
        int rounds = Integer.parseInt(opt.getOrDefault("--rounds", "3"));
        String python = opt.getOrDefault("--python", "/usr/bin/python3");
        List<String> only = opt.containsKey("--only") ? List.of(opt.get("--only").split(",")) : null;
        Path work = Files.createTempDirectory("longbow-tokbench");
        System.setProperty("de.kherud.llama.tmpdir", Files.createDirectories(work.resolve("llama")).toString());

        List<String> chunks = chunks(Files.readString(textFile));
        long bytes = chunks.stream().mapToLong(c -> c.getBytes(StandardCharsets.UTF_8).length).sum();
        System.err.printf(Locale.ROOT, "text %s: %,d bytes in %d chunks of up to %d chars; best of %d rounds%n",
                textFile, bytes, chunks.size(), CHUNK_CHARS, rounds);

        Map<String, Path> vocabs = new LinkedHashMap<>();
        vocabs.put("llama2-spm", shared.resolve("models/llama2-tokenizer.model"));
        vocabs.put("gpt2", shared.resolve("vocab/gpt2"));
        vocabs.put("llama3", shared.resolve("vocab/llama3/tokenizer.model"));
        vocabs.put("qwen2", shared.resolve("vocab/qwen2"));

        List<Result> results = new ArrayList<>();
        for (var v : vocabs.entrySet()) {
            if (only != null && !only.contains(v.getKey())) continue;
            if (!Files.exists(v.getValue())) {
                System.err.println("skipped " + v.getKey() + ": " + v.getValue() + " is absent");
                continue;
            }
            Tokenizer ours = Tokenizers.load(v.getValue());
            int[][] reference = new int[chunks.size()][];
            results.add(measure(v.getKey(), "longbow", chunks, bytes, rounds, reference, c -> ours.encode(c, false)));

            if (v.getKey().endsWith("spm")) {
                results.add(sentencepiece(v.getKey(), python, v.getValue(), chunks, bytes, rounds, reference, work));
            } else {
                Path json = work.resolve(v.getKey() + "-tokenizer.json");
                HfTokenizerJson.write(json, ((BpeTokenizer) ours).spec());
                try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.builder().optTokenizerPath(json)
                        .optAddSpecialTokens(false).optTruncation(false).build()) {
                    results.add(measure(v.getKey(), "hf-tokenizers", chunks, bytes, rounds, reference,
                            c -> Arrays.stream(hf.encode(c).getIds()).mapToInt(x -> (int) x).toArray()));
                }
            }

            Path gguf = work.resolve(v.getKey() + ".gguf");
            Synth.write(Synth.shape("tiny"), WeightType.Q8_0, 1, gguf, ours);
            try (LlamaModel llama = new LlamaModel(new ModelParameters().setModel(gguf.toString()).setCtxSize(512)
                    .setThreads(1).disableLog())) {
                results.add(measure(v.getKey(), "llama.cpp", chunks, bytes, rounds, reference, llama::encode));
            }
            Files.deleteIfExists(gguf);
        }
        print(results);
        System.exit(0); // the llama.cpp binding leaves a non-daemon thread behind
    }

    private static Result measure(String vocab, String engine, List<String> chunks, long bytes, int rounds, int[][] reference,
                                  Function<String, int[]> encode) {
        int[][] ids = new int[chunks.size()][];
        for (int i = 0; i < chunks.size(); i++) ids[i] = encode.apply(chunks.get(i)); // warm-up, and the ids to check
        long best = Long.MAX_VALUE;
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            for (String c : chunks) encode.apply(c);
            best = Math.min(best, System.nanoTime() - t0);
        }
        return result(vocab, engine, bytes, best / 1e9, ids, reference);
    }

    private static Result result(String vocab, String engine, long bytes, double seconds, int[][] ids, int[][] reference) {
        int identical = 0;
        long tokens = 0;
        for (int i = 0; i < ids.length; i++) {
            tokens += ids[i].length;
            if (reference[i] == null) reference[i] = ids[i];
            if (Arrays.equals(reference[i], ids[i])) identical++;
        }
        Result r = new Result(vocab, engine, bytes / seconds / 1e6, tokens, identical, ids.length);
        System.err.printf(Locale.ROOT, "%-11s %-14s %8.2f MB/s  %,d tokens  %d/%d chunks identical to longbow%n",
                vocab, engine, r.mbPerSecond(), tokens, identical, ids.length);
        return r;
    }

    /** Python's sentencepiece, timed inside Python so process start and JSON transfer do not count. */
    private static Result sentencepiece(String vocab, String python, Path model, List<String> chunks, long bytes, int rounds,
                                        int[][] reference, Path work) throws IOException, InterruptedException {
        Path in = work.resolve("chunks.json"), out = work.resolve("sp-ids.json"), script = work.resolve("sp_bench.py");
        Files.writeString(in, Json.write(chunks));
        Files.writeString(script, """
                import json, sys, time
                import sentencepiece as spm
                sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
                chunks = json.load(open(sys.argv[2], encoding='utf-8'))
                ids = [sp.encode(c) for c in chunks]
                best = float('inf')
                for _ in range(int(sys.argv[4])):
                    t0 = time.perf_counter()
                    for c in chunks:
                        sp.encode(c)
                    best = min(best, time.perf_counter() - t0)
                json.dump({"seconds": best, "ids": ids}, open(sys.argv[3], 'w'))
                """);
        Process p = new ProcessBuilder(python, script.toString(), model.toString(), in.toString(), out.toString(), String.valueOf(rounds))
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            System.err.println("skipped sentencepiece: " + python + " failed: " + log.strip().lines().reduce((a, b) -> b).orElse(""));
            return new Result(vocab, "sentencepiece", Double.NaN, 0, 0, chunks.size());
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> r = (Map<String, Object>) Json.parse(Files.readString(out));
        List<?> all = (List<?>) r.get("ids");
        int[][] ids = new int[all.size()][];
        for (int i = 0; i < ids.length; i++) ids[i] = ((List<?>) all.get(i)).stream().mapToInt(x -> ((Number) x).intValue()).toArray();
        return result(vocab, "sentencepiece", bytes, ((Number) r.get("seconds")).doubleValue(), ids, reference);
    }

    private static void print(List<Result> results) {
        System.out.println("| vocabulary | engine | MB/s | Longbow / engine | tokens | chunks identical to Longbow |");
        System.out.println("|---|---|---:|---:|---:|---:|");
        Map<String, Double> ours = new LinkedHashMap<>();
        for (Result r : results) if (r.engine().equals("longbow")) ours.put(r.vocab(), r.mbPerSecond());
        for (Result r : results) {
            String ratio = r.engine().equals("longbow") ? "1.00" : String.format(Locale.ROOT, "%.2f", ours.get(r.vocab()) / r.mbPerSecond());
            System.out.printf(Locale.ROOT, "| %s | %s | %.2f | %s | %,d | %d/%d |%n", r.vocab(), r.engine(), r.mbPerSecond(), ratio,
                    r.tokens(), r.identicalChunks(), r.chunks());
        }
    }

    /** Pieces of up to CHUNK_CHARS ending at a line break, as a service would see paragraphs or documents. */
    static List<String> chunks(String text) {
        List<String> out = new ArrayList<>();
        int start = 0;
        while (start < text.length()) {
            int end = Math.min(text.length(), start + CHUNK_CHARS);
            if (end < text.length()) {
                int nl = text.lastIndexOf('\n', end);
                if (nl > start) end = nl + 1;
            }
            out.add(text.substring(start, end));
            start = end;
        }
        return out;
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("usage: TokenizerBench [--shared DIR] [--text FILE] [--rounds N] [--python PATH] [--only v1,v2]");
            }
            m.put(args[i], args[++i]);
        }
        return m;
    }
}
