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
    private int blocks, count;
    // Q4_0Kernels' layout, built from the values on request after each quantize (only Q4_0 decode reads it): per
    // group of blocks, the values in the order of a load's nibbles, and per int lane 8 times its activations' sum and
    // its block's scale times 2^112.
    private short[] q4_0Values = new short[0];
    private int[] q4_0LaneOffsets = new int[0];
    private float[] q4_0LaneScales = new float[0];
    private boolean q4_0Ready, q4_0Usable;

    /** Quantizes the first n rows of x into this buffer (reused across calls by one thread) and returns it. */
    Q8Activations quantize(CpuAct x, int n) {
        blocks = x.cols() / 32;
        count = n;
        q4_0Ready = false;
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

    /**
     * Lays out the values for {@link Q4_0Kernels} (once per quantize) and says whether they can be used: not when a
     * block's scale times 2^112 overflows a float (activations above about 10^6), where Q4_0 takes VectorKernels' path.
     */
    boolean q4_0Groups() {
        if (q4_0Ready) return q4_0Usable;
        q4_0Ready = true;
        int groups = Q4_0Kernels.groups(blocks), shorts = Q4_0Kernels.SHORT_LANES, lanes = Q4_0Kernels.INT_LANES;
        int perGroup = Q4_0Kernels.BLOCKS_PER_GROUP;
        if (q4_0Values.length < count * groups * 4 * shorts) q4_0Values = new short[count * groups * 4 * shorts];
        if (q4_0LaneOffsets.length < count * groups * lanes) {
            q4_0LaneOffsets = new int[count * groups * lanes];
            q4_0LaneScales = new float[count * groups * lanes];
        }
        q4_0Usable = true;
        for (int t = 0; t < count; t++) {
            for (int g = 0; g < groups; g++) {
                int first = t * blocks * 32 + g * perGroup * 32, at = (t * groups + g) * 4 * shorts, lane = (t * groups + g) * lanes;
                for (int i = 0; i < 4 * shorts; i++) {
                    int e = Q4_0Kernels.ELEMENT[i];
                    q4_0Values[at + i] = e < 0 ? 0 : q[first + e];
                }
                for (int l = 0; l < lanes; l++) {
                    int sum = 0;
                    for (int s = 0; s < 4; s++) sum += q4_0Values[at + s * shorts + 2 * l] + q4_0Values[at + s * shorts + 2 * l + 1];
                    int block = Q4_0Kernels.BLOCK_OF_INT_LANE[l];
                    q4_0LaneOffsets[lane + l] = 8 * sum;
                    float scale = block < 0 ? 0f : scales[t * blocks + g * perGroup + block] * Q4_0Kernels.HALF_EXPONENT_ADJUST;
                    if (Float.isInfinite(scale)) q4_0Usable = false;
                    q4_0LaneScales[lane + l] = scale;
                }
            }
        }
        return q4_0Usable;
    }

    short[] q4_0Values() {
        return q4_0Values;
    }

    int[] q4_0LaneOffsets() {
        return q4_0LaneOffsets;
    }

    float[] q4_0LaneScales() {
        return q4_0LaneScales;
    }

    int q4_0ValueOffset(int t) {
        return t * Q4_0Kernels.groups(blocks) * 4 * Q4_0Kernels.SHORT_LANES;
    }

    int q4_0LaneOffset(int t) {
        return t * Q4_0Kernels.groups(blocks) * Q4_0Kernels.INT_LANES;
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
