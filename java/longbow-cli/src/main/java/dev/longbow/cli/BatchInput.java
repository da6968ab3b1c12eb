package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.engine.SamplerParams;
import dev.longbow.util.Json;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Reads and validates a whole {@code longbow batch} input file before anything runs: one JSON object a line with an
 * id (string or number, unique), a prompt or messages, and optional sampling fields that override the command line's.
 * Every bad line becomes a {@link Problem} with its line number; the good ones become {@link BatchItem}s.
 */
final class BatchInput {
    static final Set<String> FIELDS = Set.of("id", "prompt", "messages", "max_tokens", "temperature", "top_p", "top_k", "min_p",
            "seed", "repeat_penalty", "presence_penalty", "frequency_penalty", "stop", "priority");

    /** What a line gets for a field it leaves out; {@code seed} null means a fresh random seed per line. */
    record Defaults(int maxTokens, float temperature, int topK, float topP, float minP, float repeatPenalty, Long seed) {}

    record Problem(int line, String message) {}

    record Parsed(List<BatchItem> items, List<Problem> problems) {}

    private BatchInput() {}

    static Parsed read(Path file, Defaults defaults, LongSupplier randomSeed) {
        if (!Files.isRegularFile(file)) throw new LongbowException(file + ": no such input file");
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new LongbowException(file + ": cannot read the input file (" + e.getMessage() + ")");
        }
        return parse(bytes, defaults, randomSeed);
    }

    static Parsed parse(byte[] bytes, Defaults defaults, LongSupplier randomSeed) {
        List<BatchItem> items = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        Map<String, Integer> firstLine = new HashMap<>();
        int start = startsWithBom(bytes) ? 3 : 0;
        int lineNo = 0;
        // Splitting on the byte '\n' is safe in UTF-8 (it never occurs inside a multi-byte character), and lets each
        // line be decoded, and fail, on its own.
        while (start < bytes.length) {
            int end = start;
            while (end < bytes.length && bytes[end] != '\n') end++;
            lineNo++;
            int stop = end > start && bytes[end - 1] == '\r' ? end - 1 : end;
            try {
                String text = decode(bytes, start, stop);
                if (!text.isBlank()) items.add(item(text, lineNo, defaults, randomSeed, firstLine));
            } catch (LongbowException e) {
                problems.add(new Problem(lineNo, e.getMessage()));
            }
            start = end + 1;
        }
        return new Parsed(items, problems);
    }

    private static boolean startsWithBom(byte[] b) {
        return b.length >= 3 && (b[0] & 0xFF) == 0xEF && (b[1] & 0xFF) == 0xBB && (b[2] & 0xFF) == 0xBF;
    }

    private static String decode(byte[] bytes, int from, int to) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes, from, to - from)).toString();
        } catch (CharacterCodingException e) {
            throw new LongbowException("not valid UTF-8 text");
        }
    }

    private static BatchItem item(String text, int lineNo, Defaults d, LongSupplier randomSeed, Map<String, Integer> firstLine) {
        Object parsed = Json.parse(text);
        if (!(parsed instanceof Map<?, ?> raw)) throw new LongbowException("expected a JSON object, got " + kind(parsed));
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) raw;
        // The id is checked first so that a line claims its id even when something else on it is wrong: a later line
        // with the same id is then a duplicate, not a silent replacement.
        Object id = m.get("id");
        if (id == null) throw new LongbowException("missing \"id\" (a string or a number)");
        if (!(id instanceof String) && !(id instanceof Number)) throw new LongbowException("\"id\" should be a string or a number, got " + kind(id));
        if (id instanceof Double v && !Double.isFinite(v)) throw new LongbowException("\"id\" is out of range");
        Integer first = firstLine.putIfAbsent(BatchItem.key(id), lineNo);
        if (first != null) throw new LongbowException("duplicate id " + Json.write(id) + " (first on line " + first + ")");

        for (String k : m.keySet()) {
            if (!FIELDS.contains(k)) throw new LongbowException("unknown field \"" + k + "\" (known: " + String.join(", ", FIELDS.stream().sorted().toList()) + ")");
        }
        Object prompt = m.get("prompt"), messages = m.get("messages");
        if (prompt != null && messages != null) throw new LongbowException("give \"prompt\" or \"messages\", not both");
        if (prompt == null && messages == null) throw new LongbowException("missing \"prompt\" (a string) or \"messages\" (a list)");
        String promptText;
        if (prompt != null) {
            if (!(prompt instanceof String s)) throw new LongbowException("\"prompt\" should be a string, got " + kind(prompt));
            promptText = s;
        } else {
            promptText = ChatPrompt.render(messages);
        }
        int maxTokens = (int) integer(m, "max_tokens", d.maxTokens(), 0, Integer.MAX_VALUE);
        Long seed = m.get("seed") != null ? Long.valueOf(integer(m, "seed", 0, Long.MIN_VALUE, Long.MAX_VALUE)) : d.seed();
        SamplerParams sampling;
        try {
            sampling = new SamplerParams(number(m, "temperature", d.temperature()), (int) integer(m, "top_k", d.topK(), 0, Integer.MAX_VALUE),
                    number(m, "top_p", d.topP()), number(m, "min_p", d.minP()), number(m, "repeat_penalty", d.repeatPenalty()), 64,
                    seed != null ? seed : randomSeed.getAsLong())
                    .withPenalties(number(m, "presence_penalty", 0f), number(m, "frequency_penalty", 0f));
        } catch (LongbowException e) {
            throw new LongbowException(e.getMessage().replace("top-k", "top_k").replace("top-p", "top_p").replace("min-p", "min_p")
                    .replace("repetition penalty", "repeat_penalty").replace("presence penalty", "presence_penalty")
                    .replace("frequency penalty", "frequency_penalty"));
        }
        int priority = (int) integer(m, "priority", 0, Integer.MIN_VALUE, Integer.MAX_VALUE);
        return new BatchItem(id, lineNo, promptText, maxTokens, sampling, stops(m.get("stop")), priority);
    }

    private static List<String> stops(Object v) {
        if (v == null) return List.of();
        List<?> raw = v instanceof String s ? List.of(s) : v instanceof List<?> l ? l : null;
        if (raw == null) throw new LongbowException("\"stop\" should be a string or a list of strings, got " + kind(v));
        List<String> out = new ArrayList<>();
        for (Object o : raw) {
            if (!(o instanceof String s)) throw new LongbowException("\"stop\" should be a string or a list of strings, got a list holding " + kind(o));
            if (s.isEmpty()) throw new LongbowException("\"stop\" holds an empty string, which would stop before the first token");
            out.add(s);
        }
        return out;
    }

    private static long integer(Map<String, Object> m, String key, long dflt, long min, long max) {
        Object v = m.get(key);
        if (v == null) return dflt;
        if (!(v instanceof Long n)) throw new LongbowException("\"" + key + "\" should be an integer, got " + Json.write(v));
        if (n < min || n > max) throw new LongbowException("\"" + key + "\" should be " + (max == Integer.MAX_VALUE ? ">= " + min : "in [" + min + ", " + max + "]") + ", got " + n);
        return n;
    }

    private static float number(Map<String, Object> m, String key, float dflt) {
        Object v = m.get(key);
        if (v == null) return dflt;
        if (!(v instanceof Number n)) throw new LongbowException("\"" + key + "\" should be a number, got " + Json.write(v));
        return n.floatValue();
    }

    private static String kind(Object v) {
        return switch (v) {
            case null -> "null";
            case String s -> "a string";
            case Number n -> "a number";
            case Boolean b -> "a boolean";
            case List<?> l -> "a list";
            default -> "an object";
        };
    }
}
