package dev.longbow.bench;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.convert.Synth;
import dev.longbow.tensor.WeightType;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What the benchmarks that run Longbow beside llama.cpp share: their options, the synthetic files, Longbow measured in
 * a JVM of its own per file, and llama.cpp's timed completions. A JVM per file, as a user runs Longbow: in one JVM
 * the kernels of the files measured first stay compiled for their weight types, and a later file ran at half speed
 * (Q4_K prefill 301 tok/s after Q8_0 and Q4_0, 480-578 alone).
 */
final class SideBySide {
    private SideBySide() {}

    /** "--name value" pairs. */
    static Map<String, String> options(String[] args) {
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) opt.put(args[i], args[i + 1]);
        return opt;
    }

    /** The de.kherud:llama native library goes to a fresh temporary folder. */
    static void useTemporaryFolderForLlamaCpp() throws Exception {
        System.setProperty("de.kherud.llama.tmpdir", Files.createTempDirectory("longbow-llama").toString());
    }

    /** dir/shape-type.gguf, written by {@link Synth} (seed 1) the first time. */
    static Path synth(Path dir, String shape, WeightType type) throws Exception {
        Path file = dir.resolve(shape + "-" + type.name().toLowerCase(Locale.ROOT) + ".gguf");
        if (!Files.exists(file)) {
            System.err.println("writing " + file);
            Synth.write(Synth.shape(shape), type, 1, file);
        }
        return file;
    }

    /**
     * Longbow's best prefill and decode speed over the rounds, after a short warm-up, on a prompt of words the
     * made-up vocabulary holds whole (so llama.cpp reads the same tokens, BOS included), and that prompt.
     */
    record Measured(String prompt, double prefill, double decode, long bytesPerToken) {}

    private static final String CHILD = "--measure-longbow";

    /** Runs {@link Measured} for one file in a child JVM with this JVM's flags and class path. */
    static Measured longbowInOwnJvm(Path file, int promptTokens, int genTokens, int threads, int rounds) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), SideBySide.class.getName(), CHILD, file.toString(),
                String.valueOf(promptTokens), String.valueOf(genTokens), String.valueOf(threads), String.valueOf(rounds)));
        Process child = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String[] out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim().split("\n");
        if (child.waitFor() != 0 || out.length < 2) {
            throw new IllegalStateException("the Longbow measurement of " + file + " failed: " + String.join(" ", out));
        }
        String[] last = out[out.length - 1].split(" ");
        return new Measured(new String(Base64.getDecoder().decode(out[out.length - 2]), StandardCharsets.UTF_8),
                Double.parseDouble(last[0]), Double.parseDouble(last[1]), Long.parseLong(last[2]));
    }

    /** The child: prints the prompt in Base64, then "prefill decode bytesPerToken". */
    public static void main(String[] args) throws Exception {
        if (args.length != 6 || !args[0].equals(CHILD)) throw new IllegalArgumentException("usage: " + CHILD + " FILE PROMPT GEN THREADS ROUNDS");
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
            m.benchmark(ids, 4); // warm-up
            double prefill = 0, decode = 0;
            for (int k = 0; k < rounds; k++) {
                Model.BenchmarkResult b = m.benchmark(ids, genTokens);
                prefill = Math.max(prefill, b.prefillTokensPerSecond());
                decode = Math.max(decode, b.decodeTokensPerSecond());
            }
            System.out.println(Base64.getEncoder().encodeToString(prompt.getBytes(StandardCharsets.UTF_8)));
            System.out.println(prefill + " " + decode + " " + m.decodeBytesPerToken());
        }
    }

    /** Seconds for one llama.cpp completion of {@code n} tokens, greedy, with nothing cached from the last one. */
    static double complete(LlamaModel llama, String prompt, int n) {
        long t0 = System.nanoTime();
        llama.complete(new InferenceParameters(prompt).setNPredict(n).setTemperature(0f).setCachePrompt(false).setIgnoreEos(true));
        return (System.nanoTime() - t0) / 1e9;
    }
}
