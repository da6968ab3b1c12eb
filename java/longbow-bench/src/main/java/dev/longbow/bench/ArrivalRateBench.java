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
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

/**
 * Open-loop load: requests arrive as a Poisson process at each rate for a fixed time, each a 16-token random prompt
 * and a fixed number of greedy tokens, served either by one {@link BatchScheduler} (continuous batching, up to
 * {@code maxBatch} sequences) or by independent generations, at most {@code maxBatch} at once (a semaphore, as
 * {@code serve --parallel --no-batching} does). Prints, per (rate, path): the generated tokens per second over the
 * whole run (arrivals and drain), and p50/p99 of time to first token and of request latency; writes a PNG of
 * throughput and p99 latency against the arrival rate.
 * <p>
 * {@code java -cp ... dev.longbow.bench.ArrivalRateBench MODEL OUT.png [threads=2] [genTokens=32] [seconds=15]
 * [maxBatch=8] [rates=1,2,4,6,8]}
 */
public final class ArrivalRateBench {
    public static void main(String[] args) throws Exception {
        Path path = Path.of(args[0]), png = Path.of(args[1]);
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int gen = args.length > 3 ? Integer.parseInt(args[3]) : 32;
        double seconds = args.length > 4 ? Double.parseDouble(args[4]) : 15;
        int maxBatch = args.length > 5 ? Integer.parseInt(args[5]) : 8;
        double[] rates = Arrays.stream((args.length > 6 ? args[6] : "1,2,4,6,8").split(",")).mapToDouble(Double::parseDouble).toArray();
        try (ModelFile f = ModelLoader.open(path); CpuOps ops = new CpuOps(threads)) {
            Tokenizer tok = Tokenizers.forModel(f, null).withoutEndOfText();
            Transformer model = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), path.toString()));
            System.out.printf(Locale.ROOT, "%s, %d threads, %d tokens per request, %.0f s of arrivals per rate, at most %d at once%n",
                    path.getFileName(), threads, gen, seconds, maxBatch);
            run(model, ops, tok, 4, gen, 3, maxBatch, true); // warm-up: the JIT compiles both paths' kernels
            run(model, ops, tok, 4, gen, 3, maxBatch, false);
            Load.Summary[][] results = new Load.Summary[2][rates.length];
            for (int i = 0; i < rates.length; i++) {
                for (int k = 0; k < 2; k++) {
                    boolean batched = k == 0;
                    Load.Summary o = run(model, ops, tok, rates[i], gen, seconds, maxBatch, batched);
                    results[k][i] = o;
                    System.out.printf(Locale.ROOT, "rate %4.1f/s %-11s %4d requests %8.1f tok/s  ttft p50 %8.1f ms p99 %8.1f ms  latency p50 %8.1f ms p99 %8.1f ms%n",
                            rates[i], batched ? "batched" : "independent", o.requests(), o.tokensPerSecond(), o.ttftP50(), o.ttftP99(), o.latencyP50(), o.latencyP99());
                }
            }
            plot(png, path.getFileName().toString(), rates, results, maxBatch);
        }
    }

    private static Load.Summary run(Transformer model, CpuOps ops, Tokenizer tok, double rate, int gen, double seconds, int maxBatch,
                               boolean batched) throws Exception {
        SplittableRandom random = new SplittableRandom(Double.hashCode(rate));
        List<CompletableFuture<Generation.Result>> results = new ArrayList<>();
        List<long[]> times = new ArrayList<>(); // per request: arrival, first token, end
        Semaphore slots = new Semaphore(maxBatch);
        long start = System.nanoTime(), end = start + (long) (seconds * 1e9);
        try (BatchScheduler scheduler = batched ? new BatchScheduler(model, ops, tok, 1024, maxBatch) : null) {
            long next = start;
            while (true) {
                next += Load.gapNanos(random, rate);
                if (next >= end) break;
                while (System.nanoTime() < next) Thread.sleep(Math.max(0, (next - System.nanoTime()) / 1_000_000), 0);
                int[] prompt = Load.randomTokens(random, tok, 16);
                long[] t = Load.arrived(times);
                Generation.Sink sink = Load.firstToken(t);
                CompletableFuture<Generation.Result> r;
                if (batched) {
                    r = scheduler.submit(new BatchScheduler.Request(prompt, SamplerParams.GREEDY, gen, false, -1, sink, () -> false));
                } else {
                    r = CompletableFuture.supplyAsync(() -> {
                        slots.acquireUninterruptibly();
                        try {
                            return Generation.run(model, ops, tok, prompt, SamplerParams.GREEDY, gen, 1024, false, -1, sink, () -> false);
                        } finally {
                            slots.release();
                        }
                    }, command -> Thread.ofVirtual().start(command));
                }
                results.add(Load.ended(r, t));
            }
            for (var r : results) r.get();
        }
        return Load.summarize(results, times, start);
    }


    private static void plot(Path png, String model, double[] rates, Load.Summary[][] results, int maxBatch) throws Exception {
        XYChart throughput = new XYChartBuilder().width(560).height(380).title(model + ": throughput").xAxisTitle("arrivals per second")
                .yAxisTitle("generated tokens per second").build();
        XYChart latency = new XYChartBuilder().width(560).height(380).title(model + ": p99 request latency").xAxisTitle("arrivals per second")
                .yAxisTitle("ms (log scale)").build();
        latency.getStyler().setYAxisLogarithmic(true);
        String[] names = {"continuous batching (" + maxBatch + ")", "independent (" + maxBatch + " at once)"};
        for (int k = 0; k < 2; k++) {
            double[] tps = Arrays.stream(results[k]).mapToDouble(Load.Summary::tokensPerSecond).toArray();
            double[] p99 = Arrays.stream(results[k]).mapToDouble(Load.Summary::latencyP99).toArray();
            throughput.addSeries(names[k], rates, tps).setMarker(SeriesMarkers.CIRCLE);
            latency.addSeries(names[k], rates, p99).setMarker(SeriesMarkers.CIRCLE);
        }
        Files.createDirectories(png.toAbsolutePath().getParent());
        java.awt.image.BufferedImage a = BitmapEncoder.getBufferedImage(throughput), b = BitmapEncoder.getBufferedImage(latency);
        java.awt.image.BufferedImage both = new java.awt.image.BufferedImage(a.getWidth() + b.getWidth(), Math.max(a.getHeight(), b.getHeight()),
                java.awt.image.BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = both.createGraphics();
        g.drawImage(a, 0, 0, null);
        g.drawImage(b, a.getWidth(), 0, null);
        g.dispose();
        javax.imageio.ImageIO.write(both, "png", png.toFile());
        System.out.println("wrote " + png);
    }
}
