package dev.longbow.server;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.longbow.LongbowException;
import dev.longbow.api.Model;

import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * An OpenAI-compatible HTTP server for one loaded model, on the JDK's HTTP server with a virtual thread per request:
 * {@code /v1/completions}, {@code /v1/chat/completions}, {@code /v1/embeddings}, {@code /v1/models}, {@code /health}
 * and Prometheus {@code /metrics}. Each request generates with its own KV cache through {@link Model#stream}; at most
 * {@code parallel} run at once. Failures are OpenAI-style JSON errors. With an API key, everything but
 * {@code /health} needs it. The model stays the caller's to close, after this server.
 */
public final class Server implements AutoCloseable {
    private record Route(String method, String endpoint) {}

    /** Path to its method and metrics label; /v1/models/{id} is matched by prefix. */
    private static final Map<String, Route> ROUTES = Map.of(
            "/v1/completions", new Route("POST", "/v1/completions"),
            "/v1/chat/completions", new Route("POST", "/v1/chat/completions"),
            "/v1/embeddings", new Route("POST", "/v1/embeddings"),
            "/v1/models", new Route("GET", "/v1/models"),
            "/health", new Route("GET", "/health"),
            "/metrics", new Route("GET", "/metrics"));
    private static final Route MODEL_BY_ID = new Route("GET", "/v1/models/{id}");

    private final HttpServer http;
    private final ExecutorService executor;
    private final Serving serving;
    private final Metrics metrics = new Metrics();
    private final byte[] apiKey;
    private final long maxBody;
    private final PrintStream log;

    private Server(HttpServer http, ExecutorService executor, Model model, ServerOptions o, ChatTemplate template, PrintStream log) {
        this.http = http;
        this.executor = executor;
        this.serving = new Serving(model, o.modelId(), template, metrics, o.parallel());
        this.apiKey = o.apiKey() == null ? null : o.apiKey().getBytes(StandardCharsets.UTF_8);
        this.maxBody = o.maxBodyBytes();
        this.log = log;
    }

    /** Binds and starts serving {@code model}; {@code log} receives internal errors (one line each). */
    public static Server start(Model model, ServerOptions o, PrintStream log) {
        ChatTemplate template = ChatTemplates.find(model, o.modelPath(), o.tokenizer(), o.chatTemplate());
        HttpServer http;
        try {
            http = HttpServer.create(new InetSocketAddress(o.host(), o.port()), 64);
        } catch (BindException e) {
            throw new LongbowException("cannot listen on " + o.host() + ":" + o.port() + ": " + e.getMessage());
        } catch (IOException e) {
            throw new LongbowException("cannot start the HTTP server on " + o.host() + ":" + o.port() + ": " + e.getMessage());
        }
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        Server server = new Server(http, executor, model, o, template, log);
        http.createContext("/", server::handle);
        http.setExecutor(executor);
        http.start();
        return server;
    }

    public int port() {
        return http.getAddress().getPort();
    }

    /** Where the chat template came from, for the startup message. */
    public String chatTemplateOrigin() {
        return serving.template.origin();
    }

    /** The Prometheus text /metrics serves. */
    public String metricsText() {
        return metrics.render(serving.model.batchingStats());
    }

    /** Stops listening, cancels running generations, gives requests a second to finish, then stops their threads. */
    @Override
    public void close() {
        serving.cancelAll();
        http.stop(1);
        executor.shutdownNow();
    }

    private void handle(HttpExchange ex) {
        long start = System.nanoTime();
        String path = ex.getRequestURI().getPath();
        Route route = ROUTES.get(path);
        if (route == null && path.startsWith("/v1/models/")) route = MODEL_BY_ID;
        boolean api = path.startsWith("/v1/");
        if (api) metrics.inFlight.incrementAndGet();
        int status = 500;
        try {
            status = dispatch(ex, path, route);
        } catch (ApiError e) {
            status = e.status;
            respond(ex, e);
        } catch (LongbowException e) {
            status = 400;
            respond(ex, ApiError.badRequest(e.getMessage(), null));
        } catch (IOException e) {
            // The client went away while the request was read or answered; nothing can be sent. 499 as nginx logs it.
            status = 499;
        } catch (Exception | StackOverflowError e) {
            status = 500;
            log.println("longbow: internal error on " + ex.getRequestMethod() + " " + path + ": " + e);
            respond(ex, new ApiError(500, "server_error", "internal error: " + e.getClass().getSimpleName() + ": " + e.getMessage(), null, null));
        } finally {
            ex.close();
            // Counted before it leaves the in-flight gauge, so a reader who sees it gone sees it counted.
            metrics.request(route == null ? "other" : route.endpoint(), status, (System.nanoTime() - start) / 1e9);
            if (api) metrics.inFlight.decrementAndGet();
        }
    }

    private int dispatch(HttpExchange ex, String path, Route route) throws Exception {
        if (apiKey != null && !path.equals("/health")) checkKey(ex);
        if (route == null) {
            throw new ApiError(404, "invalid_request_error", "Invalid URL (" + ex.getRequestMethod() + " " + path + ")", null, "unknown_url");
        }
        if (!route.method().equals(ex.getRequestMethod())) {
            ex.getResponseHeaders().set("Allow", route.method());
            throw new ApiError(405, "invalid_request_error", ex.getRequestMethod() + " is not allowed on " + path + "; use " + route.method(), null, "method_not_allowed");
        }
        return switch (route.endpoint()) {
            case "/health" -> {
                Exchanges.json(ex, 200, Map.of("status", "ok"));
                yield 200;
            }
            case "/metrics" -> {
                Exchanges.send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.render(serving.model.batchingStats()).getBytes(StandardCharsets.UTF_8));
                yield 200;
            }
            case "/v1/models" -> {
                Exchanges.json(ex, 200, Map.of("object", "list", "data", List.of(modelObject())));
                yield 200;
            }
            case "/v1/models/{id}" -> {
                String id = path.substring("/v1/models/".length());
                if (!id.equals(serving.modelId)) {
                    throw new ApiError(404, "invalid_request_error", "The model `" + id + "` does not exist; this server serves `" + serving.modelId + "`",
                            "model", "model_not_found");
                }
                Exchanges.json(ex, 200, modelObject());
                yield 200;
            }
            case "/v1/completions" -> Completions.handle(ex, body(ex), serving, Completions.Kind.TEXT);
            case "/v1/chat/completions" -> Completions.handle(ex, body(ex), serving, Completions.Kind.CHAT);
            case "/v1/embeddings" -> Embeddings.handle(ex, body(ex), serving);
            default -> throw new IllegalStateException("no handler for " + route.endpoint());
        };
    }

    private RequestBody body(HttpExchange ex) throws IOException {
        return RequestBody.parse(Exchanges.body(ex, maxBody));
    }

    private Map<String, Object> modelObject() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", serving.modelId);
        m.put("object", "model");
        m.put("created", serving.created);
        m.put("owned_by", "longbow");
        return m;
    }

    private void checkKey(HttpExchange ex) {
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new ApiError(401, "invalid_request_error",
                    "You didn't provide an API key. Send it in the Authorization header as 'Bearer KEY'.", null, "missing_api_key");
        }
        byte[] given = auth.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(given, apiKey)) {
            throw new ApiError(401, "invalid_request_error", "Incorrect API key provided.", null, "invalid_api_key");
        }
    }

    /** Sends an error unless the response has begun (a stream), in which case there is nothing more to say. */
    private void respond(HttpExchange ex, ApiError e) {
        if (ex.getResponseCode() != -1) return;
        try {
            Exchanges.json(ex, e.status, e.body());
        } catch (IOException ignored) {
            // The client has gone.
        }
    }
}
