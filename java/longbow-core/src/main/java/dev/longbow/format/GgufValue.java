package dev.longbow.format;

import java.util.List;

/**
 * One GGUF metadata value with its wire type, so a file can be rewritten without losing types.
 * Scalars hold a boxed Java value (unsigned types widened: UINT32 as Long, UINT64 as Long bits);
 * ARRAY holds a {@link GgufValue.Array}, whose items are values of {@code elementType} (arrays nest).
 */
public record GgufValue(Type type, Object value) {

    public enum Type {
        UINT8(1), INT8(1), UINT16(2), INT16(2), UINT32(4), INT32(4), FLOAT32(4), BOOL(1), STRING(8), ARRAY(12),
        UINT64(8), INT64(8), FLOAT64(8);

        /** The fewest bytes one value of this type occupies: bounds array counts before anything is allocated. */
        final int minBytes;

        Type(int minBytes) {
            this.minBytes = minBytes;
        }

        static Type of(int id) {
            return id >= 0 && id < values().length ? values()[id] : null;
        }
    }

    public record Array(Type elementType, List<Object> items) {}

    public static GgufValue string(String s) {
        return new GgufValue(Type.STRING, s);
    }

    public static GgufValue u32(long v) {
        return new GgufValue(Type.UINT32, v);
    }

    public static GgufValue i32(int v) {
        return new GgufValue(Type.INT32, v);
    }

    public static GgufValue f32(float v) {
        return new GgufValue(Type.FLOAT32, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(Type.BOOL, v);
    }

    public static GgufValue array(Type elementType, List<?> items) {
        return new GgufValue(Type.ARRAY, new Array(elementType, List.copyOf(items)));
    }

    public long asLong() {
        if (value instanceof Number n) return n.longValue();
        if (value instanceof Boolean b) return b ? 1 : 0;
        throw new IllegalStateException("not a number: " + type);
    }

    public double asDouble() {
        if (value instanceof Number n) return n.doubleValue();
        throw new IllegalStateException("not a number: " + type);
    }

    public String asString() {
        return (String) value;
    }

    public Array asArray() {
        return (Array) value;
    }

    /** A short human-readable rendering: long arrays are summarised. */
    public String display() {
        if (type == Type.ARRAY) {
            Array a = asArray();
            if (a.items().size() > 8) return "[" + a.elementType() + " x " + a.items().size() + "]";
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < a.items().size(); i++) {
                if (i > 0) sb.append(", ");
                Object it = a.items().get(i);
                sb.append(it instanceof GgufValue g ? g.display() : String.valueOf(it));
            }
            return sb.append(']').toString();
        }
        if (type == Type.STRING) {
            String s = asString();
            return s.length() > 80 ? "\"" + s.substring(0, 77) + "...\"" : "\"" + s + "\"";
        }
        return String.valueOf(value);
    }
}
