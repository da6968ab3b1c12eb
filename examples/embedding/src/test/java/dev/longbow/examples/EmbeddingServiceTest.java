package dev.longbow.examples;

import dev.longbow.api.EmbedOptions;
import dev.longbow.api.GenerateRequest;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.util.Json;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Starts the sample service on a free port and calls both endpoints; answers must equal the library's own. */
class EmbeddingServiceTest {
    record Reply(int status, Map<String, Object> body) {}

    private static Reply post(HttpClient http, int port, String path, String json) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), Json.parseObject(r.body(), path));
    }

    @Test
    void embedsAndGeneratesOverHttp() throws Exception {
        List<String> texts = List.of("a happy dog", "a sad cat");
        try (EmbeddingService service = new EmbeddingService(Longbow.defaultModel(), 0);
             Model direct = Longbow.load(Longbow.defaultModel(), LoadOptions.DEFAULT.withThreads(1));
             HttpClient http = HttpClient.newHttpClient()) {
            int port = service.port();
            Reply e = post(http, port, "/embed", "{\"texts\": [\"a happy dog\", \"a sad cat\"]}");
            assertEquals(200, e.status(), e.toString());
            List<?> embeddings = (List<?>) e.body().get("embeddings");
            assertEquals(2, embeddings.size());
            var expected = direct.embed(texts, EmbedOptions.DEFAULT);
            for (int i = 0; i < 2; i++) {
                List<?> got = (List<?>) embeddings.get(i);
                float[] want = expected.get(i).vector();
                assertEquals(want.length, got.size());
                for (int k = 0; k < want.length; k++) assertEquals(want[k], ((Number) got.get(k)).floatValue(), "text " + i + " component " + k);
            }

            Reply g = post(http, port, "/generate", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 20}");
            assertEquals(200, g.status(), g.toString());
            assertEquals(direct.generate(GenerateRequest.of("Once upon a time", 20)).text(), g.body().get("text"));

            Reply tooLong = post(http, port, "/embed", "{\"texts\": [\"ok\", \"" + "word ".repeat(1000) + "\"]}");
            assertEquals(400, tooLong.status());
            assertTrue(((String) tooLong.body().get("error")).startsWith("text 1 of "), tooLong.toString());
            assertEquals(400, post(http, port, "/generate", "{\"prompt\": 3}").status());
            assertEquals(400, post(http, port, "/generate", "{\"prompt\": \"hi\", \"max_tokens\": 0}").status());
            assertEquals(400, post(http, port, "/embed", "not json").status());
        }
    }
}
