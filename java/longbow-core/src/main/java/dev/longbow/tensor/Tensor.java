package dev.longbow.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A named weight tensor: a view of bytes (usually a slice of a memory-mapped file) with a type and a shape.
 * The shape is outermost-first, so a matrix is {rows, cols} with cols contiguous (GGUF lists dims the other way round).
 */
public record Tensor(String name, WeightType type, long[] shape, MemorySegment data) {
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public long elementCount() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    public int rows() {
        return shape.length == 1 ? 1 : (int) (elementCount() / shape[shape.length - 1]);
    }

    public int cols() {
        return (int) shape[shape.length - 1];
    }

    /** Dequantizes row {@code row} (of length cols()) into {@code dst[dstOff..]}. */
    public void readRow(int row, float[] dst, int dstOff) {
        int n = cols();
        if (type.sectioned()) {
            CompressedLayout.dequantizeRow(type, data, rows(), n, row, dst, dstOff);
            return;
        }
        long elementOffset = (long) row * n;
        dequantize(type, data, type.bytesFor(elementOffset), dst, dstOff, n);
    }

    /** Dequantizes the whole tensor onto the heap: for tests and conversion, never for inference. */
    public float[] toFloatArray() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalStateException("tensor too large for an array: " + name);
        float[] out = new float[(int) n];
        if (type.sectioned()) {
            for (int r = 0; r < rows(); r++) readRow(r, out, r * cols());
            return out;
        }
        dequantize(type, data, 0, out, 0, (int) n);
        return out;
    }

    public static void dequantize(WeightType type, MemorySegment src, long byteOffset, float[] dst, int dstOff, int n) {
        switch (type) {
            case F32 -> MemorySegment.copy(src, F32_LE, byteOffset, dst, dstOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = Float.float16ToFloat(src.get(I16_LE, byteOffset + 2L * i));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = bf16ToFloat(src.get(I16_LE, byteOffset + 2L * i));
            }
            case Q8_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    long base = byteOffset + 34L * b;
                    float d = Float.float16ToFloat(src.get(I16_LE, base));
                    for (int j = 0; j < 32; j++) dst[dstOff + b * 32 + j] = d * src.get(ValueLayout.JAVA_BYTE, base + 2 + j);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    long base = byteOffset + 18L * b;
                    float d = Float.float16ToFloat(src.get(I16_LE, base));
                    for (int j = 0; j < 16; j++) {
                        int q = src.get(ValueLayout.JAVA_BYTE, base + 2 + j) & 0xFF;
                        dst[dstOff + b * 32 + j] = d * ((q & 0x0F) - 8);
                        dst[dstOff + b * 32 + j + 16] = d * ((q >>> 4) - 8);
                    }
                }
            }
            case Q4_K -> KQuants.dequantizeQ4K(src, byteOffset, dst, dstOff, n);
            case Q5_K -> KQuants.dequantizeQ5K(src, byteOffset, dst, dstOff, n);
            case Q6_K -> KQuants.dequantizeQ6K(src, byteOffset, dst, dstOff, n);
        }
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Round-to-nearest-even, NaN kept quiet, as PyTorch and GGML convert. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
