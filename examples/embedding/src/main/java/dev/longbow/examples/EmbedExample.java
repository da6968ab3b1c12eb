package dev.longbow.examples;

import dev.longbow.api.GenerateRequest;
import dev.longbow.api.GenerateResult;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.engine.SamplerParams;

import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How a Java service embeds Longbow: load once, generate from many threads, stream tokens, cancel, close.
 * Run: java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:Tier3DelayOn=100000 -cp ... dev.longbow.examples.EmbedExample [model]
 */
public final class EmbedExample {
    public static void main(String[] args) throws Exception {
        Path modelPath = args.length > 0 ? Path.of(args[0]) : Longbow.defaultModel();
        // A Model is thread-safe and holds the mapped weights; closing it unmaps them.
        try (Model model = Longbow.load(modelPath, LoadOptions.DEFAULT.withThreads(2))) {
            // 1. Blocking generation, greedy.
            GenerateResult r = model.generate(GenerateRequest.of("Once upon a time", 40));
            System.out.println("generate: " + r.text().strip());
            System.out.printf("  %d prompt tokens, %d generated, stopped: %s%n", r.promptTokens(), r.generatedTokens(), r.stopReason());

            // 2. Streaming with cancellation: stop after 10 tokens from inside the callback (any thread may cancel).
            GenerateRequest req = GenerateRequest.of("The little dog", 200)
                    .withSampling(new SamplerParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, 42));
            AtomicInteger seen = new AtomicInteger();
            StringBuilder streamed = new StringBuilder();
            GenerateResult s = model.stream(req, (id, text) -> {
                streamed.append(text);
                if (seen.incrementAndGet() == 10) req.cancel();
            });
            System.out.println("stream: " + streamed.toString().strip() + "  [" + s.stopReason() + " after " + s.generatedTokens() + " tokens]");

            // 3. Concurrent requests share one model; each has its own KV cache.
            try (ExecutorService pool = Executors.newFixedThreadPool(3)) {
                Future<GenerateResult> a = pool.submit(() -> model.generate(GenerateRequest.of("Tom had a red ball", 20)));
                Future<GenerateResult> b = pool.submit(() -> model.generate(GenerateRequest.of("Lily went to the park", 20)));
                System.out.println("concurrent: " + a.get().text().strip() + " | " + b.get().text().strip());
            }
        }
    }
}
