package dev.longbow.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Where the parts of Longbow's compressed tensor types ({@link WeightType#sectioned()}) lie, how to encode them and
 * how to read one row back. A tensor is laid out by section rather than by block, so each kernel streams one kind
 * of data per row: values (all rows), then 2:4 indices (all rows, whole bytes per row), then f32 row scales. The
 * encoders are the single definition of the numerics; every kernel is checked against {@link #dequantizeRow}.
 */
public final class CompressedLayout {
    private CompressedLayout() {}

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Bytes of one row's 2:4 indices: 4 bits per group of 4, two groups a byte, the last byte half used when groups are odd. */
    public static long indexRowBytes(long cols) {
        return (cols / 4 + 1) / 2;
    }

    static long bytes(WeightType t, long rows, long cols) {
        return switch (t) {
            case I8_ROW, I8_ROW_A8 -> rows * cols + 4 * rows;
            case S24_F16 -> rows * cols + rows * indexRowBytes(cols);
            case S24_I8 -> rows * (cols / 2) + rows * indexRowBytes(cols) + 4 * rows;
            default -> throw new IllegalArgumentException(t + " is not a sectioned type");
        };
    }

    /** Byte offset of row {@code row}'s values. */
    public static long valuesOffset(WeightType t, int cols, int row) {
        return switch (t) {
            case I8_ROW, I8_ROW_A8 -> (long) row * cols;
            case S24_F16 -> (long) row * cols; // cols / 2 halves of 2 bytes
            case S24_I8 -> (long) row * (cols / 2);
            default -> throw new IllegalArgumentException(t + " is not a sectioned type");
        };
    }

    /** Byte offset of row {@code row}'s 2:4 indices. */
    public static long indexOffset(WeightType t, int rows, int cols, int row) {
        long values = t == WeightType.S24_F16 ? (long) rows * cols : (long) rows * (cols / 2);
        return values + row * indexRowBytes(cols);
    }

    /** Byte offset of row {@code row}'s f32 scale (INT8 types). */
    public static long scaleOffset(WeightType t, int rows, int cols, int row) {
        return switch (t) {
            case I8_ROW, I8_ROW_A8 -> (long) rows * cols + 4L * row;
            case S24_I8 -> (long) rows * (cols / 2) + rows * indexRowBytes(cols) + 4L * row;
            default -> throw new IllegalArgumentException(t + " has no row scales");
        };
    }

    public static float scale(MemorySegment data, WeightType t, int rows, int cols, int row) {
        return data.get(F32_LE, scaleOffset(t, rows, cols, row));
    }

    /** Row {@code row} as floats: exactly the values every kernel of this type computes with. */
    public static void dequantizeRow(WeightType t, MemorySegment data, int rows, int cols, int row, float[] dst, int at) {
        switch (t) {
            case I8_ROW, I8_ROW_A8 -> {
                float s = scale(data, t, rows, cols, row);
                long v = valuesOffset(t, cols, row);
                for (int j = 0; j < cols; j++) dst[at + j] = s * data.get(ValueLayout.JAVA_BYTE, v + j);
            }
            case S24_F16, S24_I8 -> {
                float s = t == WeightType.S24_I8 ? scale(data, t, rows, cols, row) : 1f;
                long v = valuesOffset(t, cols, row), ix = indexOffset(t, rows, cols, row);
                java.util.Arrays.fill(dst, at, at + cols, 0f);
                for (int g = 0; g < cols / 4; g++) {
                    int nibble = (data.get(ValueLayout.JAVA_BYTE, ix + g / 2) >> (4 * (g & 1))) & 0xF;
                    for (int k = 0; k < 2; k++) {
                        int pos = 4 * g + ((nibble >> (2 * k)) & 3);
                        dst[at + pos] = t == WeightType.S24_F16
                                ? Float.float16ToFloat(data.get(I16_LE, v + 2L * (2 * g + k)))
                                : s * data.get(ValueLayout.JAVA_BYTE, v + 2 * g + k);
                    }
                }
            }
            default -> throw new IllegalArgumentException(t + " is not a sectioned type");
        }
    }

    /** Symmetric per-row INT8 scales: the row's largest magnitude maps to 127. */
    public static float[] rowScales(float[] w, int rows, int cols) {
        float[] s = new float[rows];
        for (int r = 0; r < rows; r++) {
            float max = 0;
            for (int j = 0; j < cols; j++) max = Math.max(max, Math.abs(w[r * cols + j]));
            s[r] = max / 127f;
        }
        return s;
    }

    /** round(v / scale) clamped to [-127, 127], halves away from zero; 0 for a zero scale. */
    public static int quantize(float v, float scale) {
        if (scale == 0) return 0;
        return Math.max(-127, Math.min(127, Quantizer.roundf(v / scale)));
    }

    /**
     * Encodes a row-major {rows, cols} matrix. For the 2:4 types each group of 4 keeps its two largest magnitudes
     * (the pruner leaves exactly two non-zeros, so those are kept), ties to the lower position. {@code scales} gives
     * the INT8 row scales (so a pruner that quantized with them round-trips exactly); null derives them from the
     * values kept.
     */
    public static byte[] encode(WeightType t, float[] w, int rows, int cols, float[] scales) {
        if ((t == WeightType.S24_F16 || t == WeightType.S24_I8) && cols % 4 != 0) {
            throw new IllegalArgumentException("2:4 needs rows of a multiple of 4 values, got " + cols);
        }
        ByteBuffer out = ByteBuffer.allocate((int) bytes(t, rows, cols)).order(ByteOrder.LITTLE_ENDIAN);
        switch (t) {
            case I8_ROW, I8_ROW_A8 -> {
                float[] s = scales != null ? scales : rowScales(w, rows, cols);
                for (int r = 0; r < rows; r++) for (int j = 0; j < cols; j++) out.put((byte) quantize(w[r * cols + j], s[r]));
                for (int r = 0; r < rows; r++) out.putFloat(s[r]);
            }
            case S24_F16, S24_I8 -> {
                int groups = cols / 4;
                float[] kept = new float[rows * groups * 2];
                byte[] index = new byte[(int) (rows * indexRowBytes(cols))];
                for (int r = 0; r < rows; r++) {
                    for (int g = 0; g < groups; g++) {
                        int base = r * cols + 4 * g, a = -1, b = -1;
                        for (int j = 0; j < 4; j++) {
                            float m = Math.abs(w[base + j]);
                            if (a < 0 || m > Math.abs(w[base + a])) { b = a; a = j; }
                            else if (b < 0 || m > Math.abs(w[base + b])) b = j;
                        }
                        int lo = Math.min(a, b), hi = Math.max(a, b);
                        kept[(r * groups + g) * 2] = w[base + lo];
                        kept[(r * groups + g) * 2 + 1] = w[base + hi];
                        index[(int) (r * indexRowBytes(cols)) + g / 2] |= (byte) ((lo | hi << 2) << (4 * (g & 1)));
                    }
                }
                if (t == WeightType.S24_F16) {
                    for (float v : kept) out.putShort(Float.floatToFloat16(v));
                    out.put(index);
                } else {
                    float[] s = scales != null ? scales : rowScales(kept, rows, cols / 2);
                    for (int r = 0; r < rows; r++) for (int j = 0; j < cols / 2; j++) out.put((byte) quantize(kept[r * (cols / 2) + j], s[r]));
                    out.put(index);
                    for (int r = 0; r < rows; r++) out.putFloat(s[r]);
                }
            }
            default -> throw new IllegalArgumentException(t + " is not a sectioned type");
        }
        return out.array();
    }
}
