package dev.longbow.bench;

import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import dev.longbow.backend.cpu.MemoryBandwidth;
import dev.longbow.convert.Synth;
import dev.longbow.tensor.WeightType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Longbow and llama.cpp (de.kherud:llama's bundled build) on the same GGUF files in one run: prefill and decode
 * speed at the same prompt, thread count and token budget, with the machine's read bandwidth measured alongside
 * so decode can be stated as a fraction of its ceiling. Files are written by {@link Synth} in released shapes.
 */
public final class LlamaCppBench {
    record Row(String model, String type, double ourPrefill, double ourDecode, double theirPrefill, double theirDecode,
               long bytesPerToken, double bandwidth) {}

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = SideBySide.options(args);
        List<String> shapes = List.of(opt.getOrDefault("--shapes", "stories110m,llama3.2-1b").split(","));
        List<String> types = List.of(opt.getOrDefault("--types", "q8_0,q4_0").split(","));
        int promptTokens = Integer.parseInt(opt.getOrDefault("--prompt-tokens", "256"));
        int genTokens = Integer.parseInt(opt.getOrDefault("--gen-tokens", "32"));
        int threads = Integer.parseInt(opt.getOrDefault("--threads", String.valueOf(Runtime.getRuntime().availableProcessors())));
        int rounds = Integer.parseInt(opt.getOrDefault("--rounds", "3"));
        Path dir = Path.of(opt.getOrDefault("--dir", System.getProperty("java.io.tmpdir") + "/longbow-bench"));
        Files.createDirectories(dir);
        SideBySide.useTemporaryFolderForLlamaCpp();

        double bandwidth = MemoryBandwidth.readGigabytesPerSecond(threads, 1L << 30, 5);
        System.err.printf(Locale.ROOT, "read bandwidth with %d threads: %.1f GB/s%n", threads, bandwidth);
        List<Row> rows = new ArrayList<>();
        for (String shape : shapes) {
            for (String typeName : types) {
                WeightType type = WeightType.parse(typeName);
                if (type == null) throw new IllegalArgumentException("unknown type " + typeName);
                Path file = SideBySide.synth(dir, shape, type);
                rows.add(measure(shape, typeName, file, promptTokens, genTokens, threads, rounds, bandwidth));
            }
        }
        System.out.printf(Locale.ROOT, "%n%d threads, %d prompt tokens, %d generated, best of %d; read bandwidth %.1f GB/s%n%n",
                threads, promptTokens, genTokens, rounds, bandwidth);
        System.out.println("| model | type | Longbow prefill tok/s | llama.cpp prefill tok/s | prefill ratio | Longbow decode tok/s | llama.cpp decode tok/s | decode ratio | Longbow % of bound | llama.cpp % of bound |");
        System.out.println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (Row r : rows) {
            double bound = r.bandwidth() * 1e9 / r.bytesPerToken();
            System.out.printf(Locale.ROOT, "| %s | %s | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.0f%% | %.0f%% |%n", r.model(), r.type(),
                    r.ourPrefill(), r.theirPrefill(), r.ourPrefill() / r.theirPrefill(), r.ourDecode(), r.theirDecode(),
                    r.ourDecode() / r.theirDecode(), 100 * r.ourDecode() / bound, 100 * r.theirDecode() / bound);
        }
        System.exit(0); // the llama.cpp binding leaves a non-daemon thread behind
    }

    private static Row measure(String shape, String type, Path file, int promptTokens, int genTokens, int threads, int rounds,
                               double bandwidth) throws Exception {
        SideBySide.Measured ours = SideBySide.longbowInOwnJvm(file, promptTokens, genTokens, threads, rounds);
        String prompt = ours.prompt();
        System.err.printf(Locale.ROOT, "%s %s longbow: prefill %.1f tok/s, decode %.2f tok/s%n", shape, type, ours.prefill(), ours.decode());

        double theirPrefill = 0, theirDecode = 0;
        try (LlamaModel llama = new LlamaModel(new ModelParameters().setModel(file.toString()).setCtxSize(promptTokens + genTokens + 16)
                .setThreads(threads).setThreadsBatch(threads).setBatchSize(promptTokens).setUbatchSize(promptTokens).disableLog())) {
            int counted = llama.encode(prompt).length + 1; // + BOS
            if (counted != promptTokens) throw new IllegalStateException("llama.cpp reads the prompt as " + counted + " tokens, not " + promptTokens);
            SideBySide.complete(llama, prompt, 4); // warm-up
            for (int k = 0; k < rounds; k++) {
                double first = SideBySide.complete(llama, prompt, 1);
                double all = SideBySide.complete(llama, prompt, 1 + genTokens);
                theirPrefill = Math.max(theirPrefill, promptTokens / first);
                theirDecode = Math.max(theirDecode, genTokens / Math.max(1e-9, all - first));
            }
        }
        System.err.printf(Locale.ROOT, "%s %s llama.cpp: prefill %.1f tok/s, decode %.2f tok/s%n", shape, type, theirPrefill, theirDecode);
        return new Row(shape, type, ours.prefill(), ours.decode(), theirPrefill, theirDecode, ours.bytesPerToken(), bandwidth);
    }
}
