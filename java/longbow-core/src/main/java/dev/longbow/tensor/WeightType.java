package dev.longbow.tensor;

/**
 * Weight storage types, with GGML's type ids and block layouts so GGUF files map onto them directly.
 * Block-quantized types store {@link #blockSize} elements in {@link #blockBytes} bytes.
 */
public enum WeightType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    /** Blocks of 32: fp16 scale d, then 16 bytes of 4-bit values (element j in the low nibble of byte j, element j+16 in the high nibble); x = d * (q - 8). */
    Q4_0(2, 32, 18),
    /** Blocks of 32: fp16 scale d, then 32 signed bytes; x = d * q. */
    Q8_0(8, 32, 34),
    BF16(30, 1, 2);

    public final int ggmlId;
    public final int blockSize;
    public final int blockBytes;

    WeightType(int ggmlId, int blockSize, int blockBytes) {
        this.ggmlId = ggmlId;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Bytes for {@code elements} values, which must be a whole number of blocks. */
    public long bytesFor(long elements) {
        return elements / blockSize * blockBytes;
    }

    public static WeightType fromGgmlId(int id) {
        for (WeightType t : values()) if (t.ggmlId == id) return t;
        return null;
    }

    /** Parses a user-facing type name such as "q8_0" or "F16"; null when unknown. */
    public static WeightType parse(String name) {
        for (WeightType t : values()) if (t.name().equalsIgnoreCase(name)) return t;
        return null;
    }
}
