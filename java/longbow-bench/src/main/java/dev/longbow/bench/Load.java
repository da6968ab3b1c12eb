package dev.longbow.bench;

import dev.longbow.engine.Generation;
import dev.longbow.tokenizer.Tokenizer;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * What the load benchmarks share: Poisson arrivals, random prompts, per-request timing (arrival, first token, end)
 * and the summary of a run (throughput, percentiles of time to first token and of latency).
 */
final class Load {
    private Load() {}

    /** The time to the next arrival of a Poisson process at {@code rate} per second: an exponential gap. */
    static long gapNanos(SplittableRandom random, double rate) {
        return (long) (-Math.log(1 - random.nextDouble()) / rate * 1e9);
    }

    /** The p-th quantile of sorted values (nearest rank); NaN when there are none. */
    static double pct(double[] sorted, double p) {
        return sorted.length == 0 ? Double.NaN : sorted[Math.min(sorted.length - 1, (int) (sorted.length * p))];
    }

    /** n token ids drawn uniformly past the three special ones. */
    static int[] randomTokens(SplittableRandom random, Tokenizer tok, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = 3 + random.nextInt(tok.vocabSize() - 3);
        return t;
    }

    /** A request's times, arrival now, added to {@code times}: [arrival, first token, end] in nanoseconds. */
    static long[] arrived(List<long[]> times) {
        long[] t = {System.nanoTime(), 0, 0};
        times.add(t);
        return t;
    }

    /** A sink that records the first generated token's time in t[1]. */
    static Generation.Sink firstToken(long[] t) {
        return (id, text, lp) -> { if (id >= 0 && t[1] == 0) t[1] = System.nanoTime(); };
    }

    /** {@code r}, recording its end in t[2]. */
    static CompletableFuture<Generation.Result> ended(CompletableFuture<Generation.Result> r, long[] t) {
        return r.whenComplete((x, e) -> t[2] = System.nanoTime());
    }

    record Summary(double tokensPerSecond, double ttftP50, double ttftP99, double latencyP50, double latencyP99, int requests) {}

    /** Generated tokens over the wall time since {@code start}, and the percentiles of every request's times. */
    static Summary summarize(List<CompletableFuture<Generation.Result>> results, List<long[]> times, long start) throws Exception {
        long wall = System.nanoTime() - start, tokens = 0;
        for (var r : results) tokens += r.get().generatedTokens();
        double[] ttft = times.stream().mapToDouble(t -> (t[1] - t[0]) / 1e6).sorted().toArray();
        double[] latency = times.stream().mapToDouble(t -> (t[2] - t[0]) / 1e6).sorted().toArray();
        return new Summary(tokens * 1e9 / wall, pct(ttft, 0.5), pct(ttft, 0.99), pct(latency, 0.5), pct(latency, 0.99), results.size());
    }
}
