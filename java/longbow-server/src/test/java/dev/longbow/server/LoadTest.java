package dev.longbow.server;

import dev.longbow.api.LoadOptions;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sixteen streams at once against localhost (eight running, the rest queued), greedy and seeded, completions and chat:
 * each must arrive whole and well-formed and say exactly what the same request says when it runs alone.
 */
class LoadTest {
    static final int STREAMS = 16;

    record Job(String path, String body) {}

    static List<Job> jobs() {
        String[] prompts = {"Once upon a time", "The little dog", "Lily and Ben went", "One day, a big"};
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            String sampling = i % 2 == 0 ? "\"temperature\": 0" : "\"temperature\": 0.9, \"top_p\": 0.9, \"seed\": " + (100 + i);
            String common = "\"max_tokens\": " + (24 + i) + ", " + sampling + ", \"stream\": true";
            jobs.add(i % 4 == 3
                    ? new Job("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"" + prompts[i % 4] + "\"}], " + common + "}")
                    : new Job("/v1/completions", "{\"prompt\": \"" + prompts[i % 4] + "\", " + common + "}"));
        }
        return jobs;
    }

    /** The streamed text, after checking the stream: well-formed events, one id, one finish reason at the end. */
    static String text(String body, boolean chat) {
        List<Map<String, Object>> events = TestServer.events(body);
        Set<Object> ids = new HashSet<>();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < events.size(); i++) {
            Map<String, Object> c = ServerTest.choice(events.get(i));
            ids.add(events.get(i).get("id"));
            Object piece = chat ? ServerTest.map(c.get("delta")).get("content") : c.get("text");
            if (piece != null) sb.append((String) piece);
            assertEquals(i == events.size() - 1, c.get("finish_reason") != null, "only the last chunk finishes: " + body);
        }
        assertEquals(1, ids.size(), "one id per stream");
        return sb.toString();
    }

    @Test
    void concurrentStreamsAreCompleteAndUnmixed() throws Exception {
        try (TestServer s = TestServer.start(LoadOptions.DEFAULT.withThreads(2), o -> o.withParallel(8));
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Job> jobs = jobs();
            List<Future<HttpResponse<String>>> futures = new ArrayList<>();
            for (Job j : jobs) {
                HttpRequest req = HttpRequest.newBuilder(URI.create(s.base + j.path())).POST(HttpRequest.BodyPublishers.ofString(j.body()))
                        .timeout(Duration.ofSeconds(120)).build();
                futures.add(pool.submit(() -> s.client.send(req, HttpResponse.BodyHandlers.ofString())));
            }
            List<String> streamed = new ArrayList<>();
            for (Future<HttpResponse<String>> f : futures) {
                HttpResponse<String> r = f.get();
                assertEquals(200, r.statusCode(), r.body());
                streamed.add(r.body());
            }
            Set<String> distinct = new HashSet<>();
            for (int i = 0; i < jobs.size(); i++) {
                Job j = jobs.get(i);
                boolean chat = j.path().contains("chat");
                String concurrent = text(streamed.get(i), chat);
                // The same request alone, not streamed: same tokens (greedy, or the same seed) whatever ran beside it.
                Map<String, Object> alone = s.post(j.path(), j.body().replace("\"stream\": true", "\"stream\": false")).json();
                Map<String, Object> c = ServerTest.choice(alone);
                String expected = chat ? (String) ServerTest.map(c.get("message")).get("content") : (String) c.get("text");
                assertNotNull(expected);
                assertEquals(expected, concurrent, "stream " + i + " (" + j.body() + ")");
                distinct.add(concurrent);
            }
            assertTrue(distinct.size() > STREAMS / 2, "the requests differ, so a mix-up would show: " + distinct.size() + " distinct texts");
            s.awaitIdle();
            assertEquals(0, s.metric("longbow_requests_waiting"));
            assertEquals(2.0 * STREAMS, s.metric("longbow_requests_total{endpoint=\"/v1/completions\",status=\"200\"}")
                    + s.metric("longbow_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"}"));
        }
    }
}
