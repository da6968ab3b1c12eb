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
    /**
     * Super-blocks of 256 in 8 sub-blocks of 32: fp16 d, fp16 dmin, 12 bytes packing a 6-bit scale and 6-bit min per
     * sub-block, 128 bytes of nibbles (each 32 bytes hold two sub-blocks, low nibbles first); x = d*scale*q - dmin*min.
     */
    Q4_K(12, 256, 144),
    /** As {@link #Q4_K} with a fifth bit per value in 32 further bytes (bit 2k and 2k+1 for the k-th pair of sub-blocks). */
    Q5_K(13, 256, 176),
    /**
     * Super-blocks of 256 in 16 sub-blocks of 16: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8
     * scales, then fp16 d; x = d * scale * (q - 32).
     */
    Q6_K(14, 256, 210),
    BF16(30, 1, 2),
    /**
     * Longbow's extension (ids from {@link #EXTENSION_BASE}, far past ggml's): INT8 weights with one f32 scale per
     * output row (symmetric, x = scale * q), activations kept in float (W8A16). Laid out by section, not by block:
     * every row's int8 values, then every row's scale. See {@link CompressedLayout}.
     */
    I8_ROW(1000, 1, 1),
    /** As {@link #I8_ROW}, with activations quantized per token to int8 as well (W8A8): integer dot products. */
    I8_ROW_A8(1001, 1, 1),
    /**
     * 2:4 structured sparsity, kept values in F16: of every 4 consecutive weights in a row 2 are kept. Sections: each
     * row's cols/2 kept values, then each row's 2-bit indices (the kept positions within their group, lower first,
     * 4 bits a group, the even group in the low nibble), padded to whole bytes per row. About 9 bits a weight.
     */
    S24_F16(1002, 4, 0),
    /** As {@link #S24_F16} with the kept values in INT8 and one f32 scale per row in a third section: about 5 bits a weight. */
    S24_I8(1003, 4, 0);

    /** First id of Longbow's GGUF tensor-type extension; ggml's own ids stay below 64. */
    public static final int EXTENSION_BASE = 1000;

    public final int ggmlId;
    public final int blockSize;
    public final int blockBytes;

    WeightType(int ggmlId, int blockSize, int blockBytes) {
        this.ggmlId = ggmlId;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Whether this is one of Longbow's sectioned compression types, whose size depends on the row count too. */
    public boolean sectioned() {
        return ggmlId >= EXTENSION_BASE;
    }

    /** Bytes for {@code elements} values, which must be a whole number of blocks; for ggml's block types only. */
    public long bytesFor(long elements) {
        if (sectioned()) throw new IllegalStateException(this + " is sized by rows and columns, not elements");
        return elements / blockSize * blockBytes;
    }

    /** Bytes of a tensor of {@code rows} rows of {@code cols} values, for every type. */
    public long tensorBytes(long rows, long cols) {
        return sectioned() ? CompressedLayout.bytes(this, rows, cols) : bytesFor(rows * cols);
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
