package dev.longbow.bench;

import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import dev.longbow.compress.Compressor;
import dev.longbow.compress.Pruner;
import dev.longbow.compress.Pruning;
import dev.longbow.tensor.WeightType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Decode speed of Longbow's compressed formats (W8A16 INT8 rows, 2:4 F16, 2:4 + INT8) beside llama.cpp's Q8_0 on
 * the same synthetic shapes, in one run. The compressed files are made from an F16 synth file of the same seed
 * (2:4 by magnitude: random weights have nothing to calibrate, only the format and its speed matter here). Our
 * Q8_0 decode on llama.cpp's own file is measured too, for reference. Also tries to open a compressed file with
 * llama.cpp and prints what it says.
 */
public final class CompressionBench {
    record Row(String shape, String format, long fileBytes, double decode) {}

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = SideBySide.options(args);
        List<String> shapes = List.of(opt.getOrDefault("--shapes", "stories110m,llama3.2-1b").split(","));
        int genTokens = Integer.parseInt(opt.getOrDefault("--gen-tokens", "32"));
        int promptTokens = Integer.parseInt(opt.getOrDefault("--prompt-tokens", "16"));
        int threads = Integer.parseInt(opt.getOrDefault("--threads", String.valueOf(Runtime.getRuntime().availableProcessors())));
        int rounds = Integer.parseInt(opt.getOrDefault("--rounds", "2"));
        Path dir = Path.of(opt.getOrDefault("--dir", System.getProperty("java.io.tmpdir") + "/longbow-bench"));
        Files.createDirectories(dir);
        SideBySide.useTemporaryFolderForLlamaCpp();

        List<Row> rows = new ArrayList<>();
        for (String shape : shapes) {
            Path q8 = SideBySide.synth(dir, shape, WeightType.Q8_0), f16 = SideBySide.synth(dir, shape, WeightType.F16);
            Path w8 = dir.resolve(shape + "-w8a16.gguf"), s24 = dir.resolve(shape + "-24-f16.gguf"), s24i8 = dir.resolve(shape + "-24-int8.gguf");
            if (!Files.exists(w8)) Compressor.compress(f16, null, null, Compressor.Mode.W8A16, 0.5, w8);
            if (!Files.exists(s24)) Pruner.prune(f16, null, Pruner.Options.of(Pruning.Method.MAGNITUDE, false), s24, System.err::println);
            if (!Files.exists(s24i8)) Pruner.prune(f16, null, Pruner.Options.of(Pruning.Method.MAGNITUDE, true), s24i8, System.err::println);
            String prompt = null;
            for (Map.Entry<String, Path> e : List.of(Map.entry("Q8_0", q8), Map.entry("W8A16 (INT8 rows)", w8), Map.entry("2:4 F16", s24),
                    Map.entry("2:4 + INT8", s24i8))) {
                SideBySide.Measured ours = SideBySide.longbowInOwnJvm(e.getValue(), promptTokens, genTokens, threads, rounds);
                prompt = ours.prompt(); // the same words from every file: one vocabulary per shape
                System.err.printf(Locale.ROOT, "%s %s longbow decode %.2f tok/s%n", shape, e.getKey(), ours.decode());
                rows.add(new Row(shape, "Longbow " + e.getKey(), Files.size(e.getValue()), ours.decode()));
            }
            double theirs = 0;
            try (LlamaModel llama = new LlamaModel(new ModelParameters().setModel(q8.toString()).setCtxSize(promptTokens + genTokens + 16)
                    .setThreads(threads).setThreadsBatch(threads).disableLog())) {
                SideBySide.complete(llama, prompt, 4);
                for (int k = 0; k < rounds; k++) {
                    double first = SideBySide.complete(llama, prompt, 1), all = SideBySide.complete(llama, prompt, 1 + genTokens);
                    theirs = Math.max(theirs, genTokens / Math.max(1e-9, all - first));
                }
            }
            System.err.printf(Locale.ROOT, "%s llama.cpp Q8_0 decode %.2f tok/s%n", shape, theirs);
            rows.add(new Row(shape, "llama.cpp Q8_0", Files.size(q8), theirs));
            if (opt.containsKey("--try-llamacpp-on-compressed")) {
                try (LlamaModel llama = new LlamaModel(new ModelParameters().setModel(s24i8.toString()).setCtxSize(64).disableLog())) {
                    System.err.println("llama.cpp opened " + s24i8 + " (unexpected)");
                } catch (Throwable t) {
                    System.err.println("llama.cpp on " + s24i8.getFileName() + ": " + t.getClass().getSimpleName() + ": " + t.getMessage());
                }
            }
        }
        System.out.printf(Locale.ROOT, "%n%d threads, %d-token prompt, %d decoded, best of %d rounds%n%n", threads, promptTokens, genTokens, rounds);
        System.out.println("| shape | format | file MB | decode tok/s | vs llama.cpp Q8_0 |");
        System.out.println("|---|---|---:|---:|---:|");
        for (Row r : rows) {
            double ref = rows.stream().filter(x -> x.shape().equals(r.shape()) && x.format().equals("llama.cpp Q8_0")).findFirst().orElseThrow().decode();
            System.out.printf(Locale.ROOT, "| %s | %s | %.1f | %.2f | %.2f× |%n", r.shape(), r.format(), r.fileBytes() / 1e6, r.decode(), r.decode() / ref);
        }
        System.exit(0); // the llama.cpp binding leaves a non-daemon thread behind
    }
}
