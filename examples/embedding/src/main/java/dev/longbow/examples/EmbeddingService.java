package dev.longbow.examples;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.longbow.LongbowException;
import dev.longbow.api.EmbedOptions;
import dev.longbow.api.Embedding;
import dev.longbow.api.GenerateRequest;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.api.ModelExecutor;
import dev.longbow.util.Json;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;

/**
 * A Spring-free service on the JDK's HttpServer: {@code POST /embed {"texts": [...]}} answers
 * {@code {"embeddings": [[...], ...]}}, {@code POST /generate {"prompt": ..., "max_tokens": n}} answers
 * {@code {"text": ...}}. HTTP threads only parse and wait; the model work runs on a {@link ModelExecutor}, whose
 * few threads bound the memory in use however many requests arrive. Bad input is a 400 with the engine's message.
 * Run: java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:Tier3DelayOn=100000 -cp ... dev.longbow.examples.EmbeddingService [port [model]]
 */
public final class EmbeddingService implements AutoCloseable {
    private final Model model;
    private final ModelExecutor executor;
    private final HttpServer server;

    public EmbeddingService(Path modelPath, int port) throws IOException {
        model = Longbow.load(modelPath, LoadOptions.DEFAULT.withThreads(2));
        // Two requests at a time, 64 waiting; past that callers get a 400 "too many requests" at once.
        executor = new ModelExecutor(model, 2, 64);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext("/embed", ex -> handle(ex, body -> {
            List<String> texts = strings(body.get("texts"));
            CompletableFuture<List<Embedding>> f = executor.submitEmbed(texts, EmbedOptions.DEFAULT);
            return Map.of("embeddings", f.join().stream().map(Embedding::vector).toList());
        }));
        server.createContext("/generate", ex -> handle(ex, body -> {
            if (!(body.get("prompt") instanceof String prompt)) throw new LongbowException("\"prompt\" must be a string");
            Object n = body.getOrDefault("max_tokens", 64L);
            if (!(n instanceof Long max) || max < 1 || max > model.contextLength()) {
                throw new LongbowException("\"max_tokens\" must be an integer from 1 to " + model.contextLength());
            }
            int maxTokens = max.intValue();
            return Map.of("text", executor.submit(GenerateRequest.of(prompt, maxTokens)).join().text());
        }));
        // Virtual threads: a request mostly waits on its future, so one thread each costs little.
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private interface Handler {
        Map<String, Object> answer(Map<String, Object> body);
    }

    private static void handle(HttpExchange ex, Handler h) throws IOException {
        int status = 200;
        Object reply;
        try {
            if (!ex.getRequestMethod().equals("POST")) throw new LongbowException("use POST");
            String text = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            reply = h.answer(Json.parseObject(text, "request body"));
        } catch (LongbowException | CompletionException e) {
            // A future's failure arrives wrapped; its cause is the engine's one-line message.
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            status = cause instanceof LongbowException ? 400 : 500;
            reply = Map.of("error", String.valueOf(cause.getMessage()));
        }
        byte[] out = Json.write(reply).getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, out.length);
        try (var body = ex.getResponseBody()) {
            body.write(out);
        }
    }

    private static List<String> strings(Object v) {
        if (v instanceof List<?> list && list.stream().allMatch(o -> o instanceof String)) {
            return list.stream().map(String.class::cast).toList();
        }
        throw new LongbowException("\"texts\" must be a list of strings");
    }

    /** Stops listening, cancels queued work, waits for running work, then unmaps the model. */
    @Override
    public void close() {
        server.stop(0);
        executor.close();
        model.close();
    }

    public static void main(String[] args) throws IOException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 8080;
        Path modelPath = args.length > 1 ? Path.of(args[1]) : Longbow.defaultModel();
        EmbeddingService service = new EmbeddingService(modelPath, port);
        Runtime.getRuntime().addShutdownHook(new Thread(service::close));
        System.out.println("listening on http://127.0.0.1:" + service.port() + " (POST /embed, POST /generate)");
    }
}
