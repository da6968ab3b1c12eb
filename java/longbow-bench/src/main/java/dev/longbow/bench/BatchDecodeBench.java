package dev.longbow.bench;

import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.engine.BatchScheduler;
import dev.longbow.engine.Generation;
import dev.longbow.engine.SamplerParams;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.model.ModelWeights;
import dev.longbow.model.Transformer;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * Aggregate decode speed of N concurrent greedy generations: through one {@link BatchScheduler} (one batched decode
 * step for all) against N threads each running {@link Generation#run} (each decode step reads all the weights).
 * Never stops at end of text, so every sequence decodes the full budget. Prints one line per (N, path): tokens per
 * second over the wall time of the round (prompts of 16 random ids included), and the p50/p99 gap between two tokens
 * of one sequence.
 * <p>
 * {@code java -cp ... dev.longbow.bench.BatchDecodeBench MODEL [threads=2] [genTokens=128] [batches=1,2,4,8]}
 */
public final class BatchDecodeBench {
    public static void main(String[] args) throws Exception {
        Path path = Path.of(args[0]);
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int gen = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int[] batches = Arrays.stream((args.length > 3 ? args[3] : "1,2,4,8").split(",")).mapToInt(Integer::parseInt).toArray();
        try (ModelFile f = ModelLoader.open(path); CpuOps ops = new CpuOps(threads)) {
            Tokenizer tok = Tokenizers.forModel(f, null).withoutEndOfText();
            Transformer model = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), path.toString()));
            System.out.printf(Locale.ROOT, "%s, %d threads, %d tokens per sequence%n", path.getFileName(), threads, gen);
            // Warm-up: the JIT compiles both paths' kernels before anything is timed.
            long warm = System.nanoTime() + 5_000_000_000L;
            while (System.nanoTime() < warm) {
                round(model, ops, tok, 4, 32, true);
                round(model, ops, tok, 2, 32, false);
            }
            for (int b : batches) {
                for (boolean batched : new boolean[]{true, false}) {
                    System.out.println(report(b, batched, round(model, ops, tok, b, gen, batched)));
                }
            }
        }
    }

    private record Round(long wallNanos, int tokens, long[] gaps) {}

    private static Round round(Transformer model, CpuOps ops, Tokenizer tok, int n, int gen, boolean batched) throws Exception {
        SplittableRandom random = new SplittableRandom(n);
        int[][] prompts = new int[n][];
        for (int i = 0; i < n; i++) prompts[i] = Load.randomTokens(random, tok, 16);
        long[][] times = new long[n][gen];
        int[] counts = new int[n];
        List<CompletableFuture<Generation.Result>> results = new ArrayList<>();
        long start = System.nanoTime();
        if (batched) {
            try (BatchScheduler scheduler = new BatchScheduler(model, ops, tok, 1024, n)) {
                for (int i = 0; i < n; i++) {
                    int k = i;
                    results.add(scheduler.submit(new BatchScheduler.Request(prompts[i], SamplerParams.GREEDY, gen, false, -1,
                            (id, text, lp) -> { if (id >= 0) times[k][counts[k]++] = System.nanoTime(); }, () -> false)));
                }
                for (var r : results) r.get();
            }
        } else {
            for (int i = 0; i < n; i++) {
                int k = i;
                results.add(CompletableFuture.supplyAsync(() -> Generation.run(model, ops, tok, prompts[k], SamplerParams.GREEDY, gen, 1024, false, -1,
                        (id, text, lp) -> { if (id >= 0) times[k][counts[k]++] = System.nanoTime(); }, () -> false), command -> new Thread(command).start()));
            }
            for (var r : results) r.get();
        }
        long wall = System.nanoTime() - start;
        int tokens = 0;
        List<Long> gaps = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            tokens += counts[i];
            for (int t = 1; t < counts[i]; t++) gaps.add(times[i][t] - times[i][t - 1]);
        }
        return new Round(wall, tokens, gaps.stream().mapToLong(Long::longValue).sorted().toArray());
    }

    private static String report(int n, boolean batched, Round r) {
        double p50 = r.gaps[r.gaps.length / 2] / 1e6, p99 = r.gaps[Math.min(r.gaps.length - 1, (int) (r.gaps.length * 0.99))] / 1e6;
        return String.format(Locale.ROOT, "N=%d %-11s %8.1f tok/s aggregate  per-token latency p50 %7.2f ms  p99 %7.2f ms",
                n, batched ? "scheduler" : "independent", r.tokens * 1e9 / r.wallNanos, p50, p99);
    }
}
