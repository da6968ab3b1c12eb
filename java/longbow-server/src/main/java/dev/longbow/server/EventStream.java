package dev.longbow.server;

import com.sun.net.httpserver.HttpExchange;
import dev.longbow.util.Json;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A server-sent event stream as OpenAI sends it: {@code data: <json>\n\n} per event, {@code data: [DONE]\n\n} at
 * the end, over a chunked 200 response. The headers go out with the first event, so a request that fails before
 * producing anything still gets a proper error status. A failed write means the client has gone: the request's
 * cancel flag is set so its generation stops, and later events are dropped.
 */
final class EventStream {
    private final HttpExchange ex;
    private final AtomicBoolean cancel;
    private OutputStream out;
    private boolean broken;

    EventStream(HttpExchange ex, AtomicBoolean cancel) {
        this.ex = ex;
        this.cancel = cancel;
    }

    boolean started() {
        return out != null;
    }

    /** Whether the client went away mid-stream. */
    boolean disconnected() {
        return broken;
    }

    void event(Object json) {
        write("data: " + Json.write(json) + "\n\n");
    }

    void done() {
        write("data: [DONE]\n\n");
    }

    private void write(String event) {
        if (broken) return;
        try {
            if (out == null) {
                ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
                ex.getResponseHeaders().set("Cache-Control", "no-cache");
                ex.sendResponseHeaders(200, 0);
                out = ex.getResponseBody();
            }
            out.write(event.getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            broken = true;
            cancel.set(true);
        }
    }

    /** Ends the response; the client may already be gone. */
    void close() {
        try {
            if (out != null) out.close();
        } catch (IOException e) {
            broken = true;
        }
    }
}
