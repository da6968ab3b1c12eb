package dev.longbow.engine;

import dev.longbow.LongbowException;
import dev.longbow.TestData;
import dev.longbow.api.GenerateRequest;
import dev.longbow.api.GenerateResult;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.model.ModelWeights;
import dev.longbow.model.Transformer;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Continuous batching gives every request what it would get alone, whoever else joins or leaves the batch. */
class BatchSchedulerTest {
    private static final String[] PROMPTS = {
            "Once upon a time", "The little dog ran to the park and", "Lily had a red ball.", "One day, a big bird",
            "Tom and Sue went to the beach. They saw the water and the sand and", "There was a cat", "Mom said", "A boy named Ben liked to",
    };

    private static Model load(int contextLength) {
        return Longbow.load(TestData.bundledModel(), LoadOptions.DEFAULT.withThreads(2).withContextLength(contextLength));
    }

    private static GenerateRequest request(int i) {
        return GenerateRequest.of(PROMPTS[i], 20 + 7 * i);
    }

    @Test
    void staggeredRequestsGetTheTokensTheyGetAlone() throws Exception {
        try (Model model = load(0)) {
            int[][] alone = new int[PROMPTS.length][];
            for (int i = 0; i < PROMPTS.length; i++) alone[i] = model.generate(request(i)).tokens();
            // Fewer places than requests: some wait, and join as others finish.
            model.enableBatching(5);
            List<CompletableFuture<GenerateResult>> results = new ArrayList<>();
            for (int i = 0; i < PROMPTS.length; i++) {
                int k = i;
                results.add(CompletableFuture.supplyAsync(() -> model.generate(request(k)), command -> {
                    Thread t = new Thread(command);
                    t.start();
                }));
                Thread.sleep(15L * (i % 3)); // joining at different steps
            }
            for (int i = 0; i < PROMPTS.length; i++) {
                GenerateResult r = results.get(i).get();
                assertArrayEquals(alone[i], r.tokens(), "request " + i + " (" + PROMPTS[i] + ")");
                assertTrue(r.generatedTokens() > 0);
            }
        }
    }

    @Test
    void requestsJoiningAtEveryStepGetTheirOwnTokens() throws Exception {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(2)) {
            Tokenizer tok = Tokenizers.forModel(f, null);
            Transformer transformer = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), "stories260K"));
            int n = PROMPTS.length;
            int[][] alone = new int[n][];
            for (int i = 0; i < n; i++) {
                alone[i] = Generation.run(transformer, ops, tok, tok.encode(PROMPTS[i], true, false), SamplerParams.GREEDY, 20 + 7 * i,
                        512, false, -1, (id, text, lp) -> { }, () -> false).tokens();
            }
            try (BatchScheduler scheduler = new BatchScheduler(transformer, ops, tok, 512, 6)) {
                AtomicReferenceArray<CompletableFuture<Generation.Result>> results = new AtomicReferenceArray<>(n);
                // Request i + 1 is submitted when request i delivers its third token: each joins a running batch.
                submitChain(scheduler, tok, 0, results);
                for (int i = 0; i < n; i++) {
                    while (results.get(i) == null) Thread.onSpinWait();
                    assertArrayEquals(alone[i], results.get(i).get().tokens(), "request " + i);
                }
                assertTrue(scheduler.largestBatch() >= 3, "largest batch " + scheduler.largestBatch());
            }
        }
    }

    @Test
    void waitingRequestsJoinByPriorityThenArrival() throws Exception {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(2)) {
            Tokenizer tok = Tokenizers.forModel(f, null).withoutEndOfText();
            Transformer transformer = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), "stories260K"));
            // A batch of one: requests run one after another, in the order the scheduler admits them.
            try (BatchScheduler scheduler = new BatchScheduler(transformer, ops, tok, 512, 1)) {
                List<Integer> started = java.util.Collections.synchronizedList(new ArrayList<>());
                java.util.concurrent.CountDownLatch blockerRunning = new java.util.concurrent.CountDownLatch(1);
                java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
                List<CompletableFuture<Generation.Result>> results = new ArrayList<>();
                // The first request holds the batch (its listener waits) while the others queue behind it.
                results.add(scheduler.submit(new BatchScheduler.Request(tok.encode(PROMPTS[0], true, false), SamplerParams.GREEDY, 3, false, -1,
                        (id, text, lp) -> {
                            blockerRunning.countDown();
                            try {
                                release.await();
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        }, () -> false, 0)));
                blockerRunning.await();
                int[] priorities = {0, 5, 0, 9, 5};
                for (int i = 0; i < priorities.length; i++) {
                    int id = i + 1;
                    boolean[] first = {true};
                    results.add(scheduler.submit(new BatchScheduler.Request(tok.encode(PROMPTS[id % PROMPTS.length], true, false), SamplerParams.GREEDY,
                            2, false, -1, (token, text, lp) -> {
                                if (first[0]) started.add(id);
                                first[0] = false;
                            }, () -> false, priorities[i])));
                }
                release.countDown();
                for (CompletableFuture<Generation.Result> r : results) assertEquals(StopReason.MAX_TOKENS, r.get().stopReason());
                // Priority 9 (request 4), then the two 5s in arrival order (2, 5), then the 0s (1, 3).
                assertEquals(List.of(4, 2, 5, 1, 3), started);
            }
        }
    }

    private static void submitChain(BatchScheduler scheduler, Tokenizer tok, int i, AtomicReferenceArray<CompletableFuture<Generation.Result>> results) {
        if (i == PROMPTS.length) return;
        int[] count = {0};
        CompletableFuture<Generation.Result> r = scheduler.submit(new BatchScheduler.Request(tok.encode(PROMPTS[i], true, false), SamplerParams.GREEDY,
                20 + 7 * i, false, -1, (id, text, lp) -> {
                    if (id >= 0 && ++count[0] == 3) submitChain(scheduler, tok, i + 1, results);
                }, () -> false));
        results.set(i, r);
    }

    @Test
    void aCancelledRequestStopsAloneAndTheOthersGoOn() throws Exception {
        try (Model model = load(0)) {
            int[][] alone = new int[3][];
            for (int i = 0; i < 3; i++) alone[i] = model.generate(request(i + 3)).tokens();
            model.enableBatching(4);
            AtomicBoolean cancel = new AtomicBoolean();
            AtomicInteger seen = new AtomicInteger();
            CompletableFuture<GenerateResult> cancelled = CompletableFuture.supplyAsync(() -> model.stream(
                    new GenerateRequest(PROMPTS[4], 100, SamplerParams.GREEDY, true, false, false, cancel), (id, text) -> {
                        if (id >= 0 && seen.incrementAndGet() == 5) cancel.set(true);
                    }));
            CompletableFuture<GenerateResult> first = CompletableFuture.supplyAsync(() -> model.generate(request(3)));
            CompletableFuture<GenerateResult> last = CompletableFuture.supplyAsync(() -> model.generate(request(5)));
            GenerateResult c = cancelled.get();
            assertEquals(StopReason.CANCELLED, c.stopReason());
            // Listeners run on the caller's thread, some steps behind the scheduler: the stop comes that much later.
            assertTrue(c.generatedTokens() >= 5 && c.generatedTokens() < 100, c.generatedTokens() + " tokens");
            assertArrayEquals(Arrays.copyOf(alone[1], c.tokens().length), c.tokens());
            assertArrayEquals(alone[0], first.get().tokens());
            assertArrayEquals(alone[2], last.get().tokens());
        }
    }

    @Test
    void aPromptLongerThanTheContextFailsAlone() throws Exception {
        try (Model model = load(64)) {
            int[] alone = model.generate(GenerateRequest.of(PROMPTS[0], 30)).tokens();
            model.enableBatching(4);
            CompletableFuture<GenerateResult> ok = CompletableFuture.supplyAsync(() -> model.generate(GenerateRequest.of(PROMPTS[0], 30)));
            LongbowException e = assertThrows(LongbowException.class, () -> model.generate(GenerateRequest.of("Once upon a time there was a dog. ".repeat(20), 10)));
            assertTrue(e.getMessage().contains("exceeds the context length of 64 tokens"), e.getMessage());
            assertArrayEquals(alone, ok.get().tokens());
            // The context still bounds what runs: a generation stops there, as alone.
            GenerateResult full = model.generate(GenerateRequest.of(PROMPTS[1], 500));
            assertEquals(StopReason.CONTEXT_FULL, full.stopReason());
            assertEquals(64, full.tokens().length - 1);
        }
    }
}
