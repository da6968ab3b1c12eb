package dev.longbow.backend;

import dev.longbow.LongbowException;

import java.util.Locale;

/** How cached keys and values are stored: FP32, FP16, or INT8 with one scale per head per token. */
public enum KvType {
    F32, F16, Q8;

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static KvType parse(String name) {
        for (KvType t : values()) if (t.key().equals(name)) return t;
        throw new LongbowException("unknown KV cache type '" + name + "' (one of f32, f16, q8)");
    }
}
