package dev.longbow.server;

import dev.longbow.LongbowException;
import dev.longbow.util.Json;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A request's JSON object with typed access that answers a wrong type or range with a 400 naming the parameter.
 * A JSON null counts as absent, as OpenAI's API treats it. Every key must be read (or declared ignorable) before
 * {@link #rejectUnread()}: a misspelt parameter is an error, not silently a default.
 */
final class RequestBody {
    private final Map<String, Object> fields;
    private final Set<String> read = new HashSet<>();

    private RequestBody(Map<String, Object> fields) {
        this.fields = fields;
    }

    @SuppressWarnings("unchecked")
    static RequestBody parse(byte[] body) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(body)).toString();
        } catch (CharacterCodingException e) {
            throw ApiError.badRequest("the request body is not UTF-8 text", null);
        }
        if (text.isBlank()) throw ApiError.badRequest("the request body is empty; send a JSON object", null);
        Object v;
        try {
            v = Json.parse(text);
        } catch (LongbowException e) {
            throw ApiError.badRequest("could not parse the JSON body of the request: " + e.getMessage(), null);
        }
        if (!(v instanceof Map)) throw ApiError.badRequest("the request body must be a JSON object", null);
        return new RequestBody((Map<String, Object>) v);
    }

    Object raw(String key) {
        read.add(key);
        return fields.get(key);
    }

    boolean has(String key) {
        return fields.get(key) != null;
    }

    String string(String key) {
        Object v = raw(key);
        if (v == null || v instanceof String) return (String) v;
        throw wrongType(key, "a string", v);
    }

    Boolean bool(String key) {
        Object v = raw(key);
        if (v == null || v instanceof Boolean) return (Boolean) v;
        throw wrongType(key, "a boolean", v);
    }

    /** An integer in [min, max], or null when absent. */
    Long integer(String key, long min, long max) {
        Object v = raw(key);
        if (v == null) return null;
        long n;
        if (v instanceof Long l) n = l;
        else if (v instanceof Double d && d == Math.rint(d) && Math.abs(d) < 9e15) n = d.longValue();
        else throw wrongType(key, "an integer", v);
        if (n < min || n > max) throw ApiError.badRequest(key + " must be between " + min + " and " + max + ", got " + n, key);
        return n;
    }

    /** A number in [min, max], or null when absent. */
    Double number(String key, double min, double max) {
        Object v = raw(key);
        if (v == null) return null;
        if (!(v instanceof Number n)) throw wrongType(key, "a number", v);
        double d = n.doubleValue();
        if (!(d >= min && d <= max)) throw ApiError.badRequest(key + " must be between " + fmt(min) + " and " + fmt(max) + ", got " + fmt(d), key);
        return d;
    }

    /** A string or a list of strings (OpenAI's {@code stop}), as a list; empty when absent. */
    List<String> strings(String key, int maxItems) {
        Object v = raw(key);
        if (v == null) return List.of();
        if (v instanceof String s) return List.of(s);
        if (v instanceof List<?> list) {
            if (list.size() > maxItems) throw ApiError.badRequest(key + " has " + list.size() + " items; at most " + maxItems + " are allowed", key);
            List<String> out = new ArrayList<>();
            for (Object o : list) {
                if (!(o instanceof String s)) throw wrongType(key, "a string or a list of strings", v);
                out.add(s);
            }
            return out;
        }
        throw wrongType(key, "a string or a list of strings", v);
    }

    /** Accepts {@code key} only at the value that means "off" (OpenAI's default), as this server has no such feature. */
    void onlyDefault(String key, Object off, String what) {
        Object v = raw(key);
        if (v == null) return;
        if (v instanceof Number a && off instanceof Number b ? a.doubleValue() != b.doubleValue() : !Objects.equals(v, off)) {
            throw ApiError.unsupported(key, what);
        }
    }

    /** Marks keys that are accepted and have no effect here (OpenAI's {@code user}, {@code metadata}, ...). */
    void ignore(String... keys) {
        read.addAll(List.of(keys));
    }

    void rejectUnread() {
        for (String k : fields.keySet()) {
            if (!read.contains(k)) throw ApiError.badRequest("Unrecognized request argument supplied: " + k, k);
        }
    }

    private static ApiError wrongType(String key, String expected, Object got) {
        String shown = Json.write(got);
        if (shown.length() > 80) shown = shown.substring(0, 77) + "...";
        return ApiError.badRequest(key + " must be " + expected + ", got " + shown, key);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
