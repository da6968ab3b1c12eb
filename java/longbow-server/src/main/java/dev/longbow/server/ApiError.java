package dev.longbow.server;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A request that fails with an HTTP status and an OpenAI-style body:
 * {@code {"error": {"message", "type", "param", "code"}}}. Clients (the official SDKs among them) read
 * {@code type} and {@code code}, so they follow OpenAI's spelling.
 */
final class ApiError extends RuntimeException {
    final int status;
    final String type;
    final String param;
    final String code;

    ApiError(int status, String type, String message, String param, String code) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    static ApiError badRequest(String message, String param) {
        return new ApiError(400, "invalid_request_error", message, param, null);
    }

    static ApiError unsupported(String param, String what) {
        return new ApiError(400, "invalid_request_error", what + " is not supported by this server", param, "unsupported_parameter");
    }

    Map<String, Object> body() {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("message", getMessage());
        e.put("type", type);
        e.put("param", param);
        e.put("code", code);
        return Map.of("error", e);
    }
}
