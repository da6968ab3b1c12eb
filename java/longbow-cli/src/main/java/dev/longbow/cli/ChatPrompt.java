package dev.longbow.cli;

import dev.longbow.LongbowException;

import java.util.List;
import java.util.Map;

/**
 * Turns an OpenAI-style {@code messages} list into one prompt. Longbow has no chat-template engine yet, so every model
 * gets the same plain transcript: one "role: content" line per message, then "assistant:" for the model to continue.
 * A model tuned on its own template will follow this less well than its template; base models read it as dialogue.
 */
final class ChatPrompt {
    private ChatPrompt() {}

    static String render(Object messages) {
        if (!(messages instanceof List<?> list)) throw new LongbowException("\"messages\" should be a list of {\"role\", \"content\"} objects");
        if (list.isEmpty()) throw new LongbowException("\"messages\" is empty");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof Map<?, ?> m)) throw new LongbowException("messages[" + i + "] should be an object with \"role\" and \"content\"");
            for (Object k : m.keySet()) {
                if (!k.equals("role") && !k.equals("content") && !k.equals("name")) {
                    throw new LongbowException("messages[" + i + "] has an unknown field \"" + k + "\" (known: role, content, name)");
                }
            }
            if (!(m.get("role") instanceof String role) || role.isBlank()) throw new LongbowException("messages[" + i + "] needs a \"role\" string");
            sb.append(role).append(": ").append(content(m.get("content"), i)).append('\n');
        }
        return sb.append("assistant:").toString();
    }

    /** A string, or a list of {"type": "text", "text": ...} parts joined together (the other OpenAI part kinds are not text). */
    private static String content(Object c, int i) {
        if (c instanceof String s) return s;
        if (c instanceof List<?> parts) {
            StringBuilder sb = new StringBuilder();
            for (Object p : parts) {
                if (!(p instanceof Map<?, ?> part) || !"text".equals(part.get("type")) || !(part.get("text") instanceof String text)) {
                    throw new LongbowException("messages[" + i + "].content parts must be {\"type\": \"text\", \"text\": ...}");
                }
                sb.append(text);
            }
            return sb.toString();
        }
        throw new LongbowException("messages[" + i + "] needs a \"content\" string");
    }
}
