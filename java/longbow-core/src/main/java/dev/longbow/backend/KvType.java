package dev.longbow.backend;

import dev.longbow.LongbowException;

import java.util.Locale;

/** How cached keys and values are stored: FP32, FP16, or INT8 with one scale per head per token. */
public enum KvType {
    F32, F16, Q8;

    /** Bytes one stored element takes. */
    public int elementBytes() {
        return switch (this) {
            case F32 -> 4;
            case F16 -> 2;
            case Q8 -> 1;
        };
    }

    /** Bytes the keys and values of one position take over every layer (Q8: with one float scale per head each). */
    public long bytesPerPosition(int layers, int kvHeads, int headDim) {
        long perHead = 2L * (headDim * elementBytes() + (this == Q8 ? Float.BYTES : 0));
        return layers * kvHeads * perHead;
    }

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static KvType parse(String name) {
        for (KvType t : values()) if (t.key().equals(name)) return t;
        throw new LongbowException("unknown KV cache type '" + name + "' (one of f32, f16, q8)");
    }
}
