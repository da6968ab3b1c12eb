package dev.longbow.server;

import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.util.Json;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A server on a free port for tests, over the bundled stories260K model, and a java.net.http client for it. */
final class TestServer implements AutoCloseable {
    final Model model;
    final Server server;
    final String base;
    final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    private final boolean ownsModel;

    private TestServer(Model model, Server server, boolean ownsModel) {
        this.model = model;
        this.server = server;
        this.base = "http://127.0.0.1:" + server.port();
        this.ownsModel = ownsModel;
    }

    static TestServer start(LoadOptions load, UnaryOperator<ServerOptions> options) {
        Model model = Longbow.load(bundledModel(), load);
        try {
            return new TestServer(model, Server.start(model, options.apply(ServerOptions.of(bundledModel()).withPort(0)), new PrintStream(System.err)), true);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    static TestServer start() {
        return start(LoadOptions.DEFAULT.withThreads(2), o -> o);
    }

    static TestServer on(Model model, Path modelPath, UnaryOperator<ServerOptions> options) {
        return new TestServer(model, Server.start(model, options.apply(ServerOptions.of(modelPath).withPort(0)), new PrintStream(System.err)), false);
    }

    static Path root() {
        String r = System.getProperty("longbow.root");
        Path p = r != null ? Path.of(r) : Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("models"))) p = p.getParent();
        if (p == null) throw new IllegalStateException("cannot find the project root (no models/ folder above the working directory)");
        return p;
    }

    static Path bundledModel() {
        return root().resolve("models/stories260K.bin");
    }

    /** A file under the shared data folder; the test is skipped when it is absent. */
    static Path shared(String relative) {
        String env = System.getenv("LONGBOW_SHARED");
        Path p = (env != null ? Path.of(env) : root().resolve("../shared").normalize()).resolve(relative);
        Assumptions.assumeTrue(Files.exists(p), "skipped: " + p + " is absent (set LONGBOW_SHARED to the shared data folder)");
        return p;
    }

    record Reply(int status, String body, java.net.http.HttpHeaders headers) {
        @SuppressWarnings("unchecked")
        Map<String, Object> json() {
            return (Map<String, Object>) Json.parse(body);
        }

        /** The error object of an OpenAI-style error reply, after checking its status and shape. */
        @SuppressWarnings("unchecked")
        Map<String, Object> error(int expectedStatus) {
            assertEquals(expectedStatus, status, body);
            assertTrue(headers.firstValue("Content-Type").orElse("").startsWith("application/json"), "JSON content type");
            Map<String, Object> e = (Map<String, Object>) json().get("error");
            assertTrue(e.keySet().containsAll(List.of("message", "type", "param", "code")), body);
            assertTrue(e.get("message") instanceof String m && !m.isBlank(), body);
            return e;
        }
    }

    Reply post(String path, String json, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).POST(HttpRequest.BodyPublishers.ofString(json))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(120));
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body(), r.headers());
    }

    Reply get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).GET().timeout(Duration.ofSeconds(60));
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body(), r.headers());
    }

    /**
     * The events of a server-sent event stream, checked to be exactly {@code data: <json>\n\n} blocks ending with
     * {@code data: [DONE]\n\n}; returns the JSON objects before [DONE].
     */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> events(String body) {
        List<Map<String, Object>> out = new ArrayList<>();
        int at = 0;
        boolean done = false;
        while (at < body.length()) {
            assertTrue(!done, "nothing may follow [DONE]: " + body.substring(at));
            assertTrue(body.startsWith("data: ", at), "an event starts with 'data: ' at " + at + ": " + body);
            int end = body.indexOf("\n\n", at);
            assertTrue(end > 0, "an event ends with a blank line");
            String data = body.substring(at + 6, end);
            assertTrue(!data.contains("\n"), "one line per event: " + data);
            if (data.equals("[DONE]")) done = true;
            else out.add((Map<String, Object>) Json.parse(data));
            at = end + 2;
        }
        assertTrue(done, "the stream ends with data: [DONE]");
        return out;
    }

    /** A value of /metrics: the sample line starting with {@code series} (name and labels), or 0 when absent. */
    double metric(String series) throws IOException, InterruptedException {
        for (String line : get("/metrics").body().lines().toList()) {
            if (line.startsWith(series + " ")) return Double.parseDouble(line.substring(series.length() + 1));
        }
        return 0;
    }

    /**
     * Waits until no API request is in flight: a client has the whole response a moment before the server's handler
     * returns and counts it, so metrics read right after a response may not show it yet.
     */
    void awaitIdle() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (metric("longbow_requests_in_flight") != 0) {
            assertTrue(System.nanoTime() < deadline, "requests still in flight after 10 s");
            Thread.sleep(10);
        }
    }

    @Override
    public void close() {
        server.close();
        if (ownsModel) model.close();
    }
}
