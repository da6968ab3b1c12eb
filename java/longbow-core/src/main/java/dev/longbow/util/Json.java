package dev.longbow.util;

import dev.longbow.LongbowException;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict JSON reader and writer (RFC 8259). The JDK has none, and config.json, safetensors headers,
 * tokenizer.json and every --json output need one. Values map to Map (insertion-ordered), List, String,
 * Long (integral numbers that fit), Double, Boolean and null.
 */
public final class Json {
    private static final int MAX_DEPTH = 512;

    private final String s;
    private int pos;
    private int depth;

    private Json(String s) {
        this.s = s;
    }

    /** Parses one JSON document; anything malformed is a {@link LongbowException} naming the offset. */
    public static Object parse(String text) {
        Json p = new Json(text);
        p.skipWs();
        Object v = p.value();
        p.skipWs();
        if (p.pos != text.length()) throw p.error("unexpected trailing characters");
        return v;
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text, String what) {
        Object v;
        try {
            v = parse(text);
        } catch (LongbowException e) {
            throw new LongbowException(what + ": " + e.getMessage());
        }
        if (!(v instanceof Map)) throw new LongbowException(what + ": expected a JSON object");
        return (Map<String, Object>) v;
    }

    private LongbowException error(String msg) {
        return new LongbowException("invalid JSON at offset " + pos + ": " + msg);
    }

    private void skipWs() {
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') pos++;
            else break;
        }
    }

    private Object value() {
        if (pos >= s.length()) throw error("unexpected end of input");
        char c = s.charAt(pos);
        return switch (c) {
            case '{' -> object();
            case '[' -> array();
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", null);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) yield number();
                throw error("unexpected character '" + c + "'");
            }
        };
    }

    private Object literal(String word, Object v) {
        if (!s.startsWith(word, pos)) throw error("expected " + word);
        pos += word.length();
        return v;
    }

    private Map<String, Object> object() {
        if (++depth > MAX_DEPTH) throw error("nested too deeply");
        pos++;
        Map<String, Object> m = new LinkedHashMap<>();
        skipWs();
        if (pos < s.length() && s.charAt(pos) == '}') {
            pos++;
            depth--;
            return m;
        }
        while (true) {
            skipWs();
            if (pos >= s.length() || s.charAt(pos) != '"') throw error("expected a string key");
            String key = string();
            skipWs();
            if (pos >= s.length() || s.charAt(pos) != ':') throw error("expected ':'");
            pos++;
            skipWs();
            m.put(key, value());
            skipWs();
            if (pos >= s.length()) throw error("unterminated object");
            char c = s.charAt(pos++);
            if (c == '}') break;
            if (c != ',') throw error("expected ',' or '}'");
        }
        depth--;
        return m;
    }

    private List<Object> array() {
        if (++depth > MAX_DEPTH) throw error("nested too deeply");
        pos++;
        List<Object> list = new ArrayList<>();
        skipWs();
        if (pos < s.length() && s.charAt(pos) == ']') {
            pos++;
            depth--;
            return list;
        }
        while (true) {
            skipWs();
            list.add(value());
            skipWs();
            if (pos >= s.length()) throw error("unterminated array");
            char c = s.charAt(pos++);
            if (c == ']') break;
            if (c != ',') throw error("expected ',' or ']'");
        }
        depth--;
        return list;
    }

    private String string() {
        pos++;
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (pos >= s.length()) throw error("unterminated string");
            char c = s.charAt(pos++);
            if (c == '"') return sb.toString();
            if (c == '\\') {
                if (pos >= s.length()) throw error("unterminated escape");
                char e = s.charAt(pos++);
                switch (e) {
                    case '"' -> sb.append('"');
                    case '\\' -> sb.append('\\');
                    case '/' -> sb.append('/');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        if (pos + 4 > s.length()) throw error("short \\u escape");
                        int cp = 0;
                        for (int i = 0; i < 4; i++) {
                            int d = Character.digit(s.charAt(pos++), 16);
                            if (d < 0) throw error("bad \\u escape");
                            cp = cp * 16 + d;
                        }
                        sb.append((char) cp);
                    }
                    default -> throw error("bad escape '\\" + e + "'");
                }
            } else if (c < 0x20) {
                throw error("control character in string");
            } else {
                sb.append(c);
            }
        }
    }

    private Object number() {
        int start = pos;
        if (s.charAt(pos) == '-') pos++;
        boolean integral = true;
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c >= '0' && c <= '9') pos++;
            else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
                integral = false;
                pos++;
            } else break;
        }
        String num = s.substring(start, pos);
        try {
            if (integral) {
                try {
                    return Long.parseLong(num);
                } catch (NumberFormatException overflow) {
                    return Double.parseDouble(num);
                }
            }
            return Double.parseDouble(num);
        } catch (NumberFormatException e) {
            pos = start;
            throw error("bad number '" + num + "'");
        }
    }

    // ---- writing ----

    public static String write(Object v) {
        StringBuilder sb = new StringBuilder();
        write(sb, v);
        return sb.toString();
    }

    public static void write(StringBuilder sb, Object v) {
        switch (v) {
            case null -> sb.append("null");
            case String str -> quote(sb, str);
            case Boolean b -> sb.append(b);
            case Float f -> number(sb, f.doubleValue(), true);
            case Double d -> number(sb, d, false);
            case Number n -> sb.append(n.longValue());
            case Map<?, ?> m -> {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!first) sb.append(',');
                    first = false;
                    quote(sb, String.valueOf(e.getKey()));
                    sb.append(':');
                    write(sb, e.getValue());
                }
                sb.append('}');
            }
            case Iterable<?> it -> {
                sb.append('[');
                Iterator<?> i = it.iterator();
                while (i.hasNext()) {
                    write(sb, i.next());
                    if (i.hasNext()) sb.append(',');
                }
                sb.append(']');
            }
            case int[] a -> {
                sb.append('[');
                for (int i = 0; i < a.length; i++) sb.append(i == 0 ? "" : ",").append(a[i]);
                sb.append(']');
            }
            case long[] a -> {
                sb.append('[');
                for (int i = 0; i < a.length; i++) sb.append(i == 0 ? "" : ",").append(a[i]);
                sb.append(']');
            }
            case float[] a -> {
                sb.append('[');
                for (int i = 0; i < a.length; i++) {
                    if (i > 0) sb.append(',');
                    number(sb, a[i], true);
                }
                sb.append(']');
            }
            default -> quote(sb, v.toString());
        }
    }

    private static void number(StringBuilder sb, double d, boolean asFloat) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            sb.append("null");
        } else if (d == Math.rint(d) && Math.abs(d) < 1e15) {
            sb.append((long) d);
        } else {
            sb.append(asFloat ? Float.toString((float) d) : Double.toString(d));
        }
    }

    public static void quote(StringBuilder sb, String str) {
        sb.append('"');
        for (int i = 0; i < str.length(); i++) {
            char c = str.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || (Character.isSurrogate(c) && !validSurrogateAt(str, i))) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    private static boolean validSurrogateAt(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }

    // ---- typed access helpers for configuration files ----

    public static Long getLong(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (v == null) return null;
        if (v instanceof Number n) return n.longValue();
        throw new LongbowException("'" + key + "' should be a number, got " + write(v));
    }

    public static Double getDouble(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (v == null) return null;
        if (v instanceof Number n) return n.doubleValue();
        throw new LongbowException("'" + key + "' should be a number, got " + write(v));
    }

    public static String getString(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (v == null) return null;
        if (v instanceof String str) return str;
        throw new LongbowException("'" + key + "' should be a string, got " + write(v));
    }
}
