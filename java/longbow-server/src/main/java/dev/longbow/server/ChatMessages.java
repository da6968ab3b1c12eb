package dev.longbow.server;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * OpenAI's {@code messages} as a chat template reads them: maps with "role", "content" (a string: a list of text
 * parts is joined, as every template expects text) and "name" when given. Tool calls are not supported.
 */
final class ChatMessages {
    private ChatMessages() {}

    static List<Map<String, Object>> parse(Object value) {
        if (value == null) throw ApiError.badRequest("messages is required: a list of {\"role\", \"content\"} objects", "messages");
        if (!(value instanceof List<?> list)) throw ApiError.badRequest("messages must be a list of {\"role\", \"content\"} objects", "messages");
        if (list.isEmpty()) throw ApiError.badRequest("messages must not be empty", "messages");
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String where = "messages[" + i + "]";
            if (!(list.get(i) instanceof Map<?, ?> m)) throw ApiError.badRequest(where + " must be an object with role and content", where);
            for (Object k : m.keySet()) {
                if (k.equals("tool_calls") || k.equals("function_call") || k.equals("tool_call_id")) {
                    if (m.get(k) != null) throw ApiError.unsupported(where + "." + k, "tool calling");
                } else if (!k.equals("role") && !k.equals("content") && !k.equals("name") && !k.equals("refusal")) {
                    throw ApiError.badRequest(where + " has an unknown field \"" + k + "\"", where + "." + k);
                }
            }
            if (!(m.get("role") instanceof String role) || role.isBlank()) throw ApiError.badRequest(where + ".role must be a non-empty string", where + ".role");
            Map<String, Object> msg = new LinkedHashMap<>();
            msg.put("role", role);
            msg.put("content", content(m.get("content"), where + ".content"));
            if (m.get("name") != null) {
                if (!(m.get("name") instanceof String name)) throw ApiError.badRequest(where + ".name must be a string", where + ".name");
                msg.put("name", name);
            }
            out.add(msg);
        }
        return out;
    }

    private static String content(Object c, String where) {
        if (c == null) return "";
        if (c instanceof String s) return s;
        if (c instanceof List<?> parts) {
            StringBuilder sb = new StringBuilder();
            for (Object p : parts) {
                if (!(p instanceof Map<?, ?> part) || !(part.get("type") instanceof String type)) {
                    throw ApiError.badRequest(where + " parts must be objects with a type", where);
                }
                if (!type.equals("text")) throw ApiError.unsupported(where, "content of type \"" + type + "\" (only text)");
                if (!(part.get("text") instanceof String text)) throw ApiError.badRequest(where + " text parts need a text string", where);
                sb.append(text);
            }
            return sb.toString();
        }
        throw ApiError.badRequest(where + " must be a string or a list of text parts", where);
    }
}
