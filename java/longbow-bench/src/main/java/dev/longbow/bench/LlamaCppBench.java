package dev.longbow.bench;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.backend.cpu.MemoryBandwidth;
import dev.longbow.convert.Synth;
import dev.longbow.tensor.WeightType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Longbow and llama.cpp (de.kherud:llama's bundled build) on the same GGUF files in one run: prefill and decode
 * speed at the same prompt, thread count and token budget, with the machine's read bandwidth measured alongside
 * so decode can be stated as a fraction of its ceiling. Files are written by {@link Synth} in released shapes.
 */
public final class LlamaCppBench {
    record Row(String model, String type, double ourPrefill, double ourDecode, double theirPrefill, double theirDecode,
               long bytesPerToken, double bandwidth) {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals(LONGBOW_ONLY)) {
            measureLongbow(args);
            return;
        }
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) opt.put(args[i], args[i + 1]);
        List<String> shapes = List.of(opt.getOrDefault("--shapes", "stories110m,llama3.2-1b").split(","));
        List<String> types = List.of(opt.getOrDefault("--types", "q8_0,q4_0").split(","));
        int promptTokens = Integer.parseInt(opt.getOrDefault("--prompt-tokens", "256"));
        int genTokens = Integer.parseInt(opt.getOrDefault("--gen-tokens", "32"));
        int threads = Integer.parseInt(opt.getOrDefault("--threads", String.valueOf(Runtime.getRuntime().availableProcessors())));
        int rounds = Integer.parseInt(opt.getOrDefault("--rounds", "3"));
        Path dir = Path.of(opt.getOrDefault("--dir", System.getProperty("java.io.tmpdir") + "/longbow-bench"));
        Files.createDirectories(dir);
        Path llamaTmp = Files.createTempDirectory("longbow-llama");
        System.setProperty("de.kherud.llama.tmpdir", llamaTmp.toString());

        double bandwidth = MemoryBandwidth.readGigabytesPerSecond(threads, 1L << 30, 5);
        System.err.printf(Locale.ROOT, "read bandwidth with %d threads: %.1f GB/s%n", threads, bandwidth);
        List<Row> rows = new ArrayList<>();
        for (String shape : shapes) {
            for (String typeName : types) {
                WeightType type = WeightType.parse(typeName);
                if (type == null) throw new IllegalArgumentException("unknown type " + typeName);
                Path file = dir.resolve(shape + "-" + typeName + ".gguf");
                if (!Files.exists(file)) {
                    System.err.println("writing " + file);
                    Synth.write(Synth.shape(shape), type, 1, file);
                }
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

    private static final String LONGBOW_ONLY = "--longbow-only";

    private static Row measure(String shape, String type, Path file, int promptTokens, int genTokens, int threads, int rounds,
                               double bandwidth) throws Exception {
        // Longbow runs in a JVM of its own for each file, as a user runs it: in one JVM the kernels of the files
        // measured before stay compiled for their types, and the later files ran at half speed (Q4_K prefill).
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), LlamaCppBench.class.getName(), LONGBOW_ONLY,
                file.toString(), String.valueOf(promptTokens), String.valueOf(genTokens), String.valueOf(threads), String.valueOf(rounds)));
        Process child = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String[] out = new String(child.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim().split("\n");
        if (child.waitFor() != 0) throw new IllegalStateException("the Longbow measurement of " + file + " failed: " + String.join(" ", out));
        String[] last = out[out.length - 1].split(" ");
        String prompt = new String(java.util.Base64.getDecoder().decode(out[out.length - 2]), java.nio.charset.StandardCharsets.UTF_8);
        double ourPrefill = Double.parseDouble(last[0]), ourDecode = Double.parseDouble(last[1]);
        long bytesPerToken = Long.parseLong(last[2]);
        System.err.printf(Locale.ROOT, "%s %s longbow: prefill %.1f tok/s, decode %.2f tok/s%n", shape, type, ourPrefill, ourDecode);

        double theirPrefill = 0, theirDecode = 0;
        try (LlamaModel llama = new LlamaModel(new ModelParameters().setModel(file.toString()).setCtxSize(promptTokens + genTokens + 16)
                .setThreads(threads).setThreadsBatch(threads).setBatchSize(promptTokens).setUbatchSize(promptTokens).disableLog())) {
            int counted = llama.encode(prompt).length + 1; // + BOS
            if (counted != promptTokens) throw new IllegalStateException("llama.cpp reads the prompt as " + counted + " tokens, not " + promptTokens);
            complete(llama, prompt, 4); // warm-up
            for (int k = 0; k < rounds; k++) {
                double first = complete(llama, prompt, 1);
                double all = complete(llama, prompt, 1 + genTokens);
                theirPrefill = Math.max(theirPrefill, promptTokens / first);
                theirDecode = Math.max(theirDecode, genTokens / Math.max(1e-9, all - first));
            }
        }
        System.err.printf(Locale.ROOT, "%s %s llama.cpp: prefill %.1f tok/s, decode %.2f tok/s%n", shape, type, theirPrefill, theirDecode);
        return new Row(shape, type, ourPrefill, ourDecode, theirPrefill, theirDecode, bytesPerToken, bandwidth);
    }

    /**
     * In the child JVM: prints the prompt it made in Base64 (words the made-up vocabulary holds whole, so both engines see
     * exactly promptTokens tokens, BOS included), then "prefill decode bytesPerToken", best of the rounds.
     */
    private static void measureLongbow(String[] args) throws Exception {
        Path file = Path.of(args[1]);
        int promptTokens = Integer.parseInt(args[2]), genTokens = Integer.parseInt(args[3]);
        int threads = Integer.parseInt(args[4]), rounds = Integer.parseInt(args[5]);
        try (Model m = Longbow.load(file, LoadOptions.DEFAULT.withThreads(threads).withContextLength(promptTokens + genTokens + 16))) {
            SplittableRandom r = new SplittableRandom(1);
            StringBuilder text = new StringBuilder();
            for (int i = 1; i < promptTokens; i++) text.append(m.tokenizer().piece(259 + r.nextInt(m.tokenizer().vocabSize() - 259)));
            String prompt = text.toString().substring(1);
            int[] ids = m.tokenizer().encode(prompt, true);
            if (ids.length != promptTokens) throw new IllegalStateException("prompt encodes to " + ids.length + " tokens, not " + promptTokens);
            double prefill = 0, decode = 0;
            for (int k = 0; k < rounds; k++) {
                Model.BenchmarkResult b = m.benchmark(ids, genTokens);
                prefill = Math.max(prefill, b.prefillTokensPerSecond());
                decode = Math.max(decode, b.decodeTokensPerSecond());
            }
            System.out.println(java.util.Base64.getEncoder().encodeToString(prompt.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            System.out.println(prefill + " " + decode + " " + m.decodeBytesPerToken());
        }
    }

    /** Seconds for one completion of {@code n} tokens with nothing cached from the last one. */
    private static double complete(LlamaModel llama, String prompt, int n) {
        long t0 = System.nanoTime();
        llama.complete(new InferenceParameters(prompt).setNPredict(n).setTemperature(0f).setCachePrompt(false).setIgnoreEos(true));
        return (System.nanoTime() - t0) / 1e9;
    }
}
