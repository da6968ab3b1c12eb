package dev.longbow.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Activation rows quantized to Q8_0 blocks (32 values, one scale each), so a dot product with Q8_0 or Q4_0 weights
 * is an integer sum per block times two scales: the arithmetic llama.cpp uses, so both engines round alike.
 */
final class Q8Activations {
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private byte[] q = new byte[0];
    /** The same int8 values as floats (exact), for kernels that multiply in float lanes. */
    private float[] wide = new float[0];
    private float[] scales = new float[0];
    private int blocks;

    /** Quantizes the first n rows of x into this buffer (reused across calls by one thread) and returns it. */
    Q8Activations quantize(CpuAct x, int n) {
        blocks = x.cols() / 32;
        if (q.length < n * x.cols()) {
            q = new byte[n * x.cols()];
            wide = new float[n * x.cols()];
        }
        if (scales.length < n * blocks) scales = new float[n * blocks];
        float[] d = x.data();
        for (int t = 0; t < n; t++) {
            int base = x.at(t);
            for (int b = 0; b < blocks; b++) {
                int o = base + b * 32;
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(d[o + j]));
                float scale = amax / 127f;
                float inv = amax != 0 ? 127f / amax : 0f; // llama.cpp's SIMD quantizer, not 1/scale
                // The scale is stored as fp16 in llama.cpp's block; round it the same way.
                scales[t * blocks + b] = Float.float16ToFloat(Float.floatToFloat16(scale));
                for (int j = 0; j < 32; j++) {
                    int at = (t * blocks + b) * 32 + j;
                    q[at] = (byte) Math.rint(d[o + j] * inv);
                    wide[at] = q[at];
                }
            }
        }
        return this;
    }

    byte[] values() {
        return q;
    }

    float[] wideValues() {
        return wide;
    }

    float[] scales() {
        return scales;
    }

    int valueOffset(int t) {
        return t * blocks * 32;
    }

    int scaleOffset(int t) {
        return t * blocks;
    }

    float dotQ8_0(MemorySegment w, long rowOffset, int t) {
        float sum = 0;
        int qo = t * blocks * 32;
        for (int b = 0; b < blocks; b++) {
            long base = rowOffset + 34L * b;
            int isum = 0;
            for (int j = 0; j < 32; j++) isum += w.get(ValueLayout.JAVA_BYTE, base + 2 + j) * q[qo + b * 32 + j];
            sum += isum * (Float.float16ToFloat(w.get(I16_LE, base)) * scales[t * blocks + b]);
        }
        return sum;
    }

    float dotQ4_0(MemorySegment w, long rowOffset, int t) {
        float sum = 0;
        int qo = t * blocks * 32;
        for (int b = 0; b < blocks; b++) {
            long base = rowOffset + 18L * b;
            int isum = 0;
            for (int j = 0; j < 16; j++) {
                int packed = w.get(ValueLayout.JAVA_BYTE, base + 2 + j) & 0xFF;
                isum += ((packed & 0x0F) - 8) * q[qo + b * 32 + j] + ((packed >>> 4) - 8) * q[qo + b * 32 + j + 16];
            }
            sum += isum * (Float.float16ToFloat(w.get(I16_LE, base)) * scales[t * blocks + b]);
        }
        return sum;
    }
}
