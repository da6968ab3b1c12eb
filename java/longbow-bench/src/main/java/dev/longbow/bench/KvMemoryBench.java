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
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * What the scheduler's KV pool buys and costs, in two runs on one model:
 * <ol>
 *   <li>Prefix sharing: requests arrive as a Poisson process, each a common prefix (a system prompt of
 *       {@code prefix} random tokens) plus 16 tokens of its own, and generate 16 greedy tokens; the same arrivals
 *       are served with prefix sharing on and off. Prints time to first token and latency percentiles, throughput,
 *       and the prompt tokens computed versus taken from the cache.</li>
 *   <li>Memory budget: {@code batch} requests submitted at once, 16-token prompts and {@code long} greedy tokens each,
 *       under KV budgets from room for all of them down to a quarter: throughput, latency, preemptions.</li>
 * </ol>
 * {@code java -cp ... dev.longbow.bench.KvMemoryBench MODEL [threads=2] [prefix=256] [requests=24] [rate=2] [batch=8] [long=192]}
 */
public final class KvMemoryBench {
    public static void main(String[] args) throws Exception {
        Path path = Path.of(args[0]);
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int prefix = args.length > 2 ? Integer.parseInt(args[2]) : 256;
        int requests = args.length > 3 ? Integer.parseInt(args[3]) : 24;
        double rate = args.length > 4 ? Double.parseDouble(args[4]) : 2;
        int batch = args.length > 5 ? Integer.parseInt(args[5]) : 8;
        int longGen = args.length > 6 ? Integer.parseInt(args[6]) : 192;
        try (ModelFile f = ModelLoader.open(path); CpuOps ops = new CpuOps(threads)) {
            Tokenizer tok = Tokenizers.forModel(f, null).withoutEndOfText();
            Transformer model = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), path.toString()));
            System.out.printf(Locale.ROOT, "%s, %d threads%n", path.getFileName(), threads);
            sharedPrefix(model, ops, tok, prefix, 4, 8, batch, true); // warm-up: the JIT compiles prefill and decode
            System.out.printf(Locale.ROOT, "shared prefix of %d tokens + 16 own, 16 generated, %d requests at %.1f/s, batch %d%n", prefix, requests, rate, batch);
            for (boolean share : new boolean[]{true, false}) sharedPrefix(model, ops, tok, prefix, requests, rate, batch, share);

            long perSequence = (16L + longGen + 63) / 64;
            long blockBytes = 64 * model.kvBytesPerPosition();
            System.out.printf(Locale.ROOT, "%d requests at once, 16-token prompts, %d generated (%d blocks of %,d bytes each at the end)%n",
                    batch, longGen, perSequence, blockBytes);
            for (int eighths : new int[]{8, 4, 2}) {
                long blocks = Math.max(perSequence, batch * perSequence * eighths / 8);
                budget(model, ops, tok, batch, longGen, blocks, blocks * blockBytes);
            }
        }
    }

    private static void sharedPrefix(Transformer model, CpuOps ops, Tokenizer tok, int prefix, int requests, double rate, int batch,
                                     boolean share) throws Exception {
        SplittableRandom random = new SplittableRandom(7);
        int[] system = Load.randomTokens(random, tok, prefix);
        List<CompletableFuture<Generation.Result>> results = new ArrayList<>();
        List<long[]> times = new ArrayList<>();
        long start = System.nanoTime();
        try (BatchScheduler scheduler = new BatchScheduler(model, ops, tok, 2048, batch, 0, share)) {
            long next = start;
            for (int i = 0; i < requests; i++) {
                next += Load.gapNanos(random, rate);
                while (System.nanoTime() < next) Thread.sleep(Math.max(0, (next - System.nanoTime()) / 1_000_000), 0);
                int[] own = Load.randomTokens(random, tok, 16);
                int[] prompt = java.util.Arrays.copyOf(system, prefix + own.length);
                System.arraycopy(own, 0, prompt, prefix, own.length);
                results.add(submit(scheduler, prompt, 16, times));
            }
            for (var r : results) r.get();
        }
        long computed = 0, cached = 0;
        for (var r : results) {
            cached += r.get().cachedPromptTokens();
            computed += r.get().promptTokens() - r.get().cachedPromptTokens();
        }
        Load.Summary s = Load.summarize(results, times, start);
        System.out.printf(Locale.ROOT, "  sharing %-3s  %6.1f tok/s  ttft p50 %7.0f p99 %7.0f ms  latency p50 %7.0f p99 %7.0f ms  prompt tokens computed %,d, from cache %,d%n",
                share ? "on" : "off", s.tokensPerSecond(), s.ttftP50(), s.ttftP99(), s.latencyP50(), s.latencyP99(), computed, cached);
    }

    private static void budget(Transformer model, CpuOps ops, Tokenizer tok, int batch, int gen, long blocks, long bytes) throws Exception {
        SplittableRandom random = new SplittableRandom(11);
        List<CompletableFuture<Generation.Result>> results = new ArrayList<>();
        List<long[]> times = new ArrayList<>();
        long start = System.nanoTime();
        BatchScheduler.Stats stats;
        try (BatchScheduler scheduler = new BatchScheduler(model, ops, tok, 2048, batch, bytes, true)) {
            for (int i = 0; i < batch; i++) results.add(submit(scheduler, Load.randomTokens(random, tok, 16), gen, times));
            for (var r : results) r.get();
            stats = scheduler.stats();
        }
        Load.Summary s = Load.summarize(results, times, start);
        System.out.printf(Locale.ROOT, "  budget %3d blocks  %6.1f tok/s  latency p50 %7.0f p99 %7.0f ms  preemptions %3d  mean batch %.1f%n",
                blocks, s.tokensPerSecond(), s.latencyP50(), s.latencyP99(), stats.preemptions(), stats.decodedRows() / (double) stats.decodeSteps());
    }

    private static CompletableFuture<Generation.Result> submit(BatchScheduler scheduler, int[] prompt, int gen, List<long[]> times) {
        long[] t = Load.arrived(times);
        return Load.ended(scheduler.submit(new BatchScheduler.Request(prompt, SamplerParams.GREEDY, gen, false, -1, Load.firstToken(t), () -> false)), t);
    }
}
