package dev.longbow.engine;

import dev.longbow.LongbowException;
import dev.longbow.TestData;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.model.ModelWeights;
import dev.longbow.model.Transformer;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scheduler's KV memory: shared prompt prefixes and preemption under a budget change no request's tokens, and
 * each does what it claims (prefix positions not computed again, blocks copied before a write, sequences preempted
 * and recomputed, a prompt larger than the budget refused alone).
 */
class KvMemorySchedulingTest {
    private static final String STORY = "Once upon a time, there was a little girl named Lily. She liked to play with her dog in the park. "
            + "One day, they saw a big red ball under a tree. Lily ran to get it, but the dog was faster. ";
    private static final String[] ENDINGS = {"Then Lily said", "The dog was happy and", "Mom came to the park and", "A bird sang"};

    private static ModelFile file;
    private static CpuOps ops;
    private static Tokenizer tok;
    private static Transformer model;
    private static long blockBytes;

    @BeforeAll
    static void load() {
        file = ModelLoader.open(TestData.bundledModel());
        ops = new CpuOps(2);
        // No end of text: every request runs to its budget, so memory use is what the test says it is.
        tok = Tokenizers.forModel(file, null).withoutEndOfText();
        model = new Transformer(file.config(), ModelWeights.bind(file.config(), file.tensors(), "stories260K"));
        blockBytes = 64 * model.kvBytesPerPosition();
    }

    @AfterAll
    static void close() {
        ops.close();
        file.close();
    }

    /** The story's first n tokens (with BOS), then the ending's. */
    private static int[] prompt(int n, String ending) {
        int[] story = tok.encode(STORY.repeat(4), true, false);
        int[] end = tok.encode(ending, false, false);
        int[] p = Arrays.copyOf(story, n + end.length);
        System.arraycopy(end, 0, p, n, end.length);
        return p;
    }

    private static int[] alone(int[] prompt, int maxTokens) {
        return Generation.run(model, ops, tok, prompt, SamplerParams.GREEDY, maxTokens, 512, false, -1, (id, text, lp) -> { }, () -> false).tokens();
    }

    private static BatchScheduler.Request request(int[] prompt, int maxTokens, int priority, Generation.Sink sink) {
        return new BatchScheduler.Request(prompt, SamplerParams.GREEDY, maxTokens, false, -1, sink, () -> false, priority);
    }

    private static BatchScheduler.Request request(int[] prompt, int maxTokens) {
        return request(prompt, maxTokens, 0, (id, text, lp) -> { });
    }

    @Test
    void requestsSharingAPromptPrefixComputeItOnceAndGetTheirOwnTokens() throws Exception {
        int[][] prompts = new int[ENDINGS.length][];
        int[][] alone = new int[ENDINGS.length][];
        for (int i = 0; i < prompts.length; i++) {
            prompts[i] = prompt(150, ENDINGS[i]);
            alone[i] = alone(prompts[i], 20);
        }
        for (boolean share : new boolean[]{true, false}) {
            try (BatchScheduler scheduler = new BatchScheduler(model, ops, tok, 512, 4, 0, share)) {
                Generation.Result first = scheduler.submit(request(prompts[0], 20)).get();
                assertArrayEquals(alone[0], first.tokens());
                assertEquals(0, first.cachedPromptTokens());
                // The others arrive together after the first has finished: its blocks wait in the pool for them.
                List<CompletableFuture<Generation.Result>> rest = new ArrayList<>();
                for (int i = 1; i < prompts.length; i++) rest.add(scheduler.submit(request(prompts[i], 20)));
                for (int i = 1; i < prompts.length; i++) {
                    Generation.Result r = rest.get(i - 1).get();
                    assertArrayEquals(alone[i], r.tokens(), "request " + i + (share ? " sharing" : " not sharing"));
                    // 150 shared tokens are two whole blocks of 64; the third holds each request's own ending.
                    assertEquals(share ? 128 : 0, r.cachedPromptTokens(), "request " + i);
                }
                assertEquals(share ? 3 * 128 : 0, scheduler.stats().kv().prefixHits());
            }
        }
    }

    @Test
    void requestsArrivingTogetherShareTheirPrefixToo() throws Exception {
        int[][] prompts = new int[ENDINGS.length][];
        for (int i = 0; i < prompts.length; i++) prompts[i] = prompt(150, ENDINGS[i]);
        try (BatchScheduler scheduler = new BatchScheduler(model, ops, tok, 512, 4, 0, true)) {
            List<CompletableFuture<Generation.Result>> results = new ArrayList<>();
            for (int[] p : prompts) results.add(scheduler.submit(request(p, 20)));
            // Admitted together, they prefill one after another: each but the first takes the first's published blocks.
            for (int i = 0; i < prompts.length; i++) {
                Generation.Result r = results.get(i).get();
                assertArrayEquals(alone(prompts[i], 20), r.tokens(), "request " + i);
                assertEquals(i == 0 ? 0 : 128, r.cachedPromptTokens(), "request " + i);
            }
        }
    }

    @Test
    void aPromptEndingOnABlockBoundaryCopiesTheSharedBlockBeforeRunningItsLastToken() throws Exception {
        int[] prompt = Arrays.copyOf(prompt(150, ""), 128);
        int[] alone40 = alone(prompt, 40), alone10 = alone(prompt, 10);
        try (BatchScheduler scheduler = new BatchScheduler(model, ops, tok, 512, 2, 0, true)) {
            AtomicReference<CompletableFuture<Generation.Result>> second = new AtomicReference<>();
            // The second joins when the first has delivered its first token: the first still holds the prefix.
            CompletableFuture<Generation.Result> first = scheduler.submit(request(prompt, 40, 0, (id, text, lp) -> {
                if (second.get() == null) second.set(scheduler.submit(request(prompt, 10)));
            }));
            assertArrayEquals(alone40, first.get().tokens());
            Generation.Result r = second.get().get();
            assertArrayEquals(alone10, r.tokens());
            assertEquals(127, r.cachedPromptTokens(), "all but the last token, whose logits prefill is for");
            assertTrue(scheduler.stats().kv().copiesOnWrite() >= 1, "the second block was copied before position 127 was written");
        }
    }

    @Test
    void sequencesPreemptedForMemoryAreRecomputedAndGetTheirOwnTokens() throws Exception {
        int n = ENDINGS.length;
        int[][] prompts = new int[n][];
        int[][] alone = new int[n][];
        for (int i = 0; i < n; i++) {
            prompts[i] = tok.encode(ENDINGS[i], true, false);
            alone[i] = alone(prompts[i], 150);
        }
        // Each sequence grows to three blocks; six blocks hold two of them, not four.
        try (BatchScheduler scheduler = new BatchScheduler(model, ops, tok, 512, n, 6 * blockBytes, true)) {
            List<CompletableFuture<Generation.Result>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) results.add(scheduler.submit(request(prompts[i], 150, i == 2 ? 5 : 0, (id, text, lp) -> { })));
            int preempted = 0;
            for (int i = 0; i < n; i++) {
                Generation.Result r = results.get(i).get();
                assertArrayEquals(alone[i], r.tokens(), "request " + i);
                assertEquals(StopReason.MAX_TOKENS, r.stopReason());
                preempted += r.preemptions();
                if (i == 2) assertEquals(0, r.preemptions(), "the high-priority request is never the one preempted");
            }
            scheduler.close(); // the counters are then final
            BatchScheduler.Stats stats = scheduler.stats();
            assertTrue(stats.preemptions() > 0, "no preemption under a budget too small for the batch");
            assertEquals(stats.preemptions(), preempted);
            assertTrue(stats.kv().blocksInUse() == 0 && stats.kv().capacityBlocks() == 6, stats.kv().toString());
        }
    }

    @Test
    void aPromptLargerThanTheBudgetFailsAloneAndALoneSequenceStopsWhenItIsFull() throws Exception {
        int[] shortPrompt = tok.encode(ENDINGS[0], true, false);
        int[] full = alone(shortPrompt, 300);
        try (BatchScheduler scheduler = new BatchScheduler(model, ops, tok, 512, 2, 2 * blockBytes, true)) {
            CompletableFuture<Generation.Result> tooLong = scheduler.submit(request(prompt(150, ""), 10));
            CompletableFuture<Generation.Result> grows = scheduler.submit(request(shortPrompt, 300));
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, tooLong::get);
            assertInstanceOf(LongbowException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("KV memory budget") && e.getCause().getMessage().contains("--kv-memory"), e.getCause().getMessage());
            Generation.Result r = grows.get();
            assertEquals(StopReason.CONTEXT_FULL, r.stopReason());
            // Two blocks hold positions 0..127; the token sampled for position 128 is delivered, then there is no room to run it.
            assertEquals(129, r.tokens().length);
            assertArrayEquals(Arrays.copyOf(full, 129), r.tokens());
        }
    }
}
