package dev.longbow.api;

import dev.longbow.LongbowException;
import dev.longbow.TestData;
import dev.longbow.engine.SamplerParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Futures from many threads equal the same work run alone; bad input, cancel and close complete every future. */
@Timeout(120)
class ModelExecutorTest {
    static Model model;
    static final String[] PROMPTS = {"Once upon a time", "Tom had a red ball", "Lily went to the park", "The little dog"};

    @BeforeAll
    static void load() {
        model = Longbow.load(TestData.bundledModel(), LoadOptions.DEFAULT.withThreads(2));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Task i: even ones generate (greedy, or seeded sampling), odd ones embed two texts with either pooling. */
    private static Object run(int i, ModelExecutor ex) throws Exception {
        String prompt = PROMPTS[i % PROMPTS.length];
        if (i % 2 == 0) {
            GenerateRequest r = GenerateRequest.of(prompt, 8 + i % 5);
            if (i % 4 == 2) r = r.withSampling(new SamplerParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, i));
            GenerateResult g = ex == null ? model.generate(r) : ex.submit(r).get();
            return g.text() + "|" + java.util.Arrays.toString(g.tokens());
        }
        List<String> texts = List.of(prompt, prompt + " and a cat");
        EmbedOptions o = EmbedOptions.DEFAULT.withPooling(i % 4 == 1 ? EmbedOptions.Pooling.MEAN : EmbedOptions.Pooling.LAST_TOKEN);
        List<Embedding> e = ex == null ? model.embed(texts, o) : ex.submitEmbed(texts, o).get();
        return e.stream().map(Embedding::vector).toList();
    }

    @Test
    void sixteenThreadsSubmittingMixedTasksGetWhatEachTaskGetsAlone() throws Exception {
        int tasks = 64;
        List<Object> alone = new ArrayList<>();
        for (int i = 0; i < tasks; i++) alone.add(run(i, null));
        try (ModelExecutor ex = new ModelExecutor(model, 4); ExecutorService clients = Executors.newFixedThreadPool(16)) {
            List<Future<Object>> results = new ArrayList<>();
            for (int i = 0; i < tasks; i++) {
                int task = i;
                results.add(clients.submit(() -> run(task, ex)));
            }
            for (int i = 0; i < tasks; i++) {
                Object got = results.get(i).get();
                if (alone.get(i) instanceof String s) {
                    assertEquals(s, got, "task " + i);
                } else {
                    List<?> expected = (List<?>) alone.get(i), actual = (List<?>) got;
                    assertEquals(expected.size(), actual.size());
                    for (int k = 0; k < expected.size(); k++) assertArrayEquals((float[]) expected.get(k), (float[]) actual.get(k), "task " + i);
                }
            }
        }
    }

    @Test
    void badInputFailsTheFutureWithTheModelsMessage() throws Exception {
        try (ModelExecutor ex = new ModelExecutor(model, 2)) {
            var e = assertThrows(ExecutionException.class, () -> ex.submitEmbed(List.of("ok", "word ".repeat(1000)), EmbedOptions.DEFAULT).get());
            assertInstanceOf(LongbowException.class, e.getCause());
            assertTrue(e.getCause().getMessage().startsWith("text 1 of "), e.getCause().getMessage());
            GenerateRequest empty = new GenerateRequest("", 5, SamplerParams.GREEDY, false, false, false, null);
            var g = assertThrows(ExecutionException.class, () -> ex.submit(empty).get());
            assertInstanceOf(LongbowException.class, g.getCause());
            // The executor goes on working after a failure.
            assertEquals(model.generate(GenerateRequest.of("Hi", 4)).text(), ex.submit(GenerateRequest.of("Hi", 4)).get().text());
        }
    }

    @Test
    void cancellingAFutureSetsTheRequestsFlag() throws Exception {
        try (ModelExecutor ex = new ModelExecutor(model, 1)) {
            GenerateRequest running = GenerateRequest.of("Once upon a time", 400);
            GenerateRequest queued = GenerateRequest.of("Once upon a time", 400);
            CompletableFuture<GenerateResult> a = ex.submit(running), b = ex.submit(queued);
            assertTrue(b.cancel(true));
            assertTrue(a.cancel(true));
            assertTrue(running.cancelled().get());
            assertTrue(queued.cancelled().get());
            assertThrows(CancellationException.class, a::join);
            // The worker is free again once the cancelled generation has stopped at its next token.
            assertEquals(model.generate(GenerateRequest.of("Hi", 4)).text(), ex.submit(GenerateRequest.of("Hi", 4)).get().text());
        }
    }

    @Test
    void closeCompletesOrCancelsEveryFuture() {
        List<CompletableFuture<?>> futures = new ArrayList<>();
        String expected = model.generate(GenerateRequest.of("Tom had a red ball", 30)).text();
        ModelExecutor ex = new ModelExecutor(model, 1);
        for (int i = 0; i < 20; i++) {
            futures.add(i % 2 == 0 ? ex.submit(GenerateRequest.of("Tom had a red ball", 30)) : ex.submitEmbed(List.of("a dog"), EmbedOptions.DEFAULT));
        }
        ex.close();
        int cancelled = 0;
        for (CompletableFuture<?> f : futures) {
            assertTrue(f.isDone());
            if (f.isCancelled()) {
                cancelled++;
            } else if (f.join() instanceof GenerateResult r) {
                assertEquals(expected, r.text());
            }
        }
        assertTrue(cancelled > 0, "one worker cannot have run 20 queued tasks before close");
        var after = ex.submit(GenerateRequest.of("Hi", 4));
        assertInstanceOf(IllegalStateException.class, assertThrows(ExecutionException.class, after::get).getCause());
    }

    @Test
    void aFullQueueRefusesAtOnce() throws Exception {
        try (ModelExecutor ex = new ModelExecutor(model, 1, 1)) {
            GenerateRequest longOne = GenerateRequest.of("Once upon a time", 400);
            List<CompletableFuture<GenerateResult>> fs = new ArrayList<>();
            for (int i = 0; i < 4; i++) fs.add(ex.submit(i == 0 ? longOne : GenerateRequest.of("Hi", 2)));
            // One runs (or is about to), one waits, so at least the last is refused.
            var refused = assertThrows(ExecutionException.class, () -> fs.get(3).get());
            assertInstanceOf(LongbowException.class, refused.getCause());
            assertTrue(refused.getCause().getMessage().startsWith("too many requests"), refused.getCause().getMessage());
            longOne.cancel();
            assertTrue(fs.get(0).get().generatedTokens() <= 400);
            assertEquals(model.generate(GenerateRequest.of("Hi", 2)).text(), fs.get(1).get().text(), "the queued one still runs");
        }
    }
}
