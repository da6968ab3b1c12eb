package dev.longbow.server;

import dev.longbow.api.GenerateRequest;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.engine.SamplerParams;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** With continuous batching, concurrent requests, streamed or not, get the text each gets alone. */
class BatchedServingTest {
    private static final String[] PROMPTS = {"Once upon a time", "The little dog", "Lily had a red ball.", "One day, a big bird", "Tom said"};

    @Test
    void concurrentRequestsGetTheirOwnGreedyText() throws Exception {
        try (Model model = Longbow.load(TestServer.bundledModel(), LoadOptions.DEFAULT.withThreads(2))) {
            String[] alone = new String[PROMPTS.length];
            for (int i = 0; i < PROMPTS.length; i++) {
                alone[i] = model.generate(new GenerateRequest(PROMPTS[i], 20 + 10 * i, SamplerParams.GREEDY, true, true, false, null)).text();
            }
            model.enableBatching(3);
            try (TestServer s = TestServer.on(model, TestServer.bundledModel(), o -> o.withParallel(3))) {
                List<CompletableFuture<String>> texts = new ArrayList<>();
                for (int i = 0; i < PROMPTS.length; i++) {
                    int k = i;
                    boolean stream = i % 2 == 1;
                    String body = "{\"prompt\": \"" + PROMPTS[k] + "\", \"max_tokens\": " + (20 + 10 * k) + ", \"temperature\": 0, \"stream\": " + stream + "}";
                    texts.add(CompletableFuture.supplyAsync(() -> {
                        try {
                            TestServer.Reply r = s.post("/v1/completions", body);
                            assertEquals(200, r.status(), r.body());
                            if (!stream) return (String) ServerTest.choice(r.json()).get("text");
                            StringBuilder text = new StringBuilder();
                            for (Map<String, Object> e : TestServer.events(r.body())) text.append(ServerTest.choice(e).get("text"));
                            return text.toString();
                        } catch (Exception e) {
                            throw new RuntimeException(e);
                        }
                    }));
                }
                for (int i = 0; i < PROMPTS.length; i++) assertEquals(alone[i], texts.get(i).get(), "request " + i + (i % 2 == 1 ? " (streamed)" : ""));
                // The batch's shape shows in /metrics: steps ran, and every step decoded between 1 and 3 rows.
                String metrics = s.get("/metrics").body();
                long steps = metric(metrics, "longbow_batch_decode_steps_total"), rows = metric(metrics, "longbow_batch_decoded_tokens_total");
                org.junit.jupiter.api.Assertions.assertTrue(steps > 0 && rows >= steps && rows <= 3 * steps, "steps " + steps + ", rows " + rows);
                assertEquals(3, metric(metrics, "longbow_batch_max_sequences"));
                // vLLM's priority extension: an integer, or a 400 naming it.
                assertEquals(200, s.post("/v1/completions", "{\"prompt\": \"Once\", \"max_tokens\": 2, \"priority\": 5}").status());
                TestServer.Reply bad = s.post("/v1/completions", "{\"prompt\": \"Once\", \"priority\": \"high\"}");
                assertEquals(400, bad.status(), bad.body());
                org.junit.jupiter.api.Assertions.assertTrue(bad.body().contains("priority"), bad.body());
            }
        }
    }

    @Test
    void aRepeatedPromptPrefixIsReportedAsCachedTokens() throws Exception {
        String story = "Once upon a time, there was a little girl named Lily. She liked to play with her dog in the park. ".repeat(4);
        try (Model model = Longbow.load(TestServer.bundledModel(), LoadOptions.DEFAULT.withThreads(2))) {
            String alone = model.generate(new GenerateRequest(story + "Then", 12, SamplerParams.GREEDY, true, true, false, null)).text();
            model.enableBatching(2);
            try (TestServer s = TestServer.on(model, TestServer.bundledModel(), o -> o.withParallel(2))) {
                long[] cached = new long[2];
                for (int i = 0; i < 2; i++) {
                    TestServer.Reply r = s.post("/v1/completions", "{\"prompt\": \"" + story + "Then\", \"max_tokens\": 12, \"temperature\": 0}");
                    assertEquals(200, r.status(), r.body());
                    assertEquals(alone, ServerTest.choice(r.json()).get("text"), "request " + i);
                    @SuppressWarnings("unchecked")
                    Map<String, Object> usage = (Map<String, Object>) r.json().get("usage");
                    @SuppressWarnings("unchecked")
                    Map<String, Object> details = (Map<String, Object>) usage.get("prompt_tokens_details");
                    cached[i] = ((Number) details.get("cached_tokens")).longValue();
                }
                // The second request finds the first's whole blocks of 64 positions; its last token always runs.
                long prompt = model.tokenizer().encode(story + "Then", true, false).length;
                assertEquals(0, cached[0]);
                assertEquals((prompt - 1) / 64 * 64, cached[1]);
                String metrics = s.get("/metrics").body();
                assertEquals(cached[1], metric(metrics, "longbow_prefix_cache_hit_tokens_total"));
                org.junit.jupiter.api.Assertions.assertTrue(metric(metrics, "longbow_kv_blocks_cached") > 0, metrics);
                assertEquals(0, metric(metrics, "longbow_kv_blocks_in_use"));
            }
        }
    }

    private static long metric(String text, String name) {
        for (String line : text.split("\n")) if (line.startsWith(name + " ")) return Long.parseLong(line.substring(name.length() + 1).strip());
        throw new AssertionError(name + " missing from /metrics:\n" + text);
    }
}
