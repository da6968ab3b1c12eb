package dev.longbow.server;

import com.sun.net.httpserver.HttpExchange;
import dev.longbow.util.Json;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Reading a bounded request body and writing whole JSON or text responses. */
final class Exchanges {
    private Exchanges() {}

    /** The body, refused with 413 past {@code limit} bytes (by its Content-Length when given, else as it arrives). */
    static byte[] body(HttpExchange ex, long limit) throws IOException {
        String declared = ex.getRequestHeaders().getFirst("Content-Length");
        if (declared != null) {
            long n;
            try {
                n = Long.parseLong(declared.trim());
            } catch (NumberFormatException e) {
                throw ApiError.badRequest("Content-Length is not a number", null);
            }
            if (n > limit) throw tooLarge(limit);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try (InputStream in = ex.getRequestBody()) {
            for (int r; (r = in.read(buf)) > 0; ) {
                if (out.size() + r > limit) throw tooLarge(limit);
                out.write(buf, 0, r);
            }
        }
        return out.toByteArray();
    }

    private static ApiError tooLarge(long limit) {
        return new ApiError(413, "invalid_request_error", "the request body is larger than this server's limit of " + limit + " bytes", null, "request_too_large");
    }

    static void json(HttpExchange ex, int status, Object body) throws IOException {
        send(ex, status, "application/json", Json.write(body).getBytes(StandardCharsets.UTF_8));
    }

    static void send(HttpExchange ex, int status, String contentType, byte[] bytes) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }
}
