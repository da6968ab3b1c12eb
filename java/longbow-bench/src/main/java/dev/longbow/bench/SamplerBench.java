package dev.longbow.bench;

import dev.longbow.engine.Sampler;
import dev.longbow.engine.SamplerParams;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Time per sampled token for vocabularies of 32,000 (Llama 2) and 128,256 (Llama 3) with Gaussian logits, under the
 * settings users run: generate's defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05), the OpenAI server's
 * (temperature 1, no top-k, top-p 1), nucleus only (top-p 0.9), and a repetition penalty. Best of 5 rounds.
 * <p>{@code java -cp ... dev.longbow.bench.SamplerBench [samples=2000]}
 */
public final class SamplerBench {
    public static void main(String[] args) {
        int samples = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        SamplerParams[] settings = {
                new SamplerParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, 1),
                new SamplerParams(1f, 0, 1f, 0f, 1f, 64, 1),
                new SamplerParams(1f, 0, 0.9f, 0f, 1f, 64, 1),
                new SamplerParams(0.8f, 40, 0.95f, 0.05f, 1.1f, 64, 1),
        };
        String[] names = {"generate defaults (T 0.8, top-k 40, top-p 0.95, min-p 0.05)", "server defaults (T 1, all candidates)",
                "top-p 0.9 alone", "generate defaults + repeat penalty 1.1"};
        for (int vocab : new int[]{32000, 128256}) {
            SplittableRandom r = new SplittableRandom(vocab);
            float[][] logits = new float[16][vocab];
            for (float[] l : logits) for (int i = 0; i < vocab; i++) l[i] = (float) (r.nextGaussian() * 3);
            int[] history = new int[512];
            for (int i = 0; i < history.length; i++) history[i] = r.nextInt(vocab);
            for (int s = 0; s < settings.length; s++) {
                Sampler sampler = new Sampler(settings[s]);
                long best = Long.MAX_VALUE;
                int sink = 0;
                for (int round = 0; round < 5; round++) {
                    long t0 = System.nanoTime();
                    for (int i = 0; i < samples; i++) sink += sampler.sample(logits[i & 15], history, history.length);
                    best = Math.min(best, System.nanoTime() - t0);
                }
                System.out.printf(Locale.ROOT, "vocab %,7d  %-62s %9.1f us/token  (%d)%n", vocab, names[s], best / 1e3 / samples, sink & 1);
            }
        }
    }
}
