package dev.longbow.backend.cpu;

import dev.longbow.tensor.KQuants;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Activation rows quantized to Q8_K blocks (256 values, one float scale, and the sum of each 16 quantized values), the
 * form llama.cpp gives activations that meet K-quant weights. The dot products here are the scalar reference: the
 * integer arithmetic of ggml_vec_dot_q{4,5,6}_K_q8_K, summed in float through the same eight lanes and in the same
 * order as GGML's generic C versions, so rounding differs from llama.cpp's only where its SIMD kernels reorder sums.
 */
final class Q8KActivations {
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int QK = KQuants.QK_K;

    private byte[] q = new byte[0];
    private float[] scales = new float[0];
    /** Per 16 quantized values, their sum: the min terms of Q4_K and Q5_K need only these. */
    private short[] sums = new short[0];
    // The same, as the vector kernels read them: values widened to short once here rather than in every dot
    // product, and sums per 32 (one per Q4_K/Q5_K sub-block).
    private short[] wide = new short[0];
    /** The same values in {@link KQuantKernels#Q4K_NIBBLE_ORDER}, the order the Q4_K and Q5_K kernels read them in. */
    private short[] nibbleOrdered = new short[0];
    /** The values in {@link KQuantKernels#Q6K_NIBBLE_ORDER}, and the sums per 16 as ints, for the Q6_K kernel. */
    private short[] q6kOrdered = new short[0];
    private int[] sums16 = new int[0];
    /** Per block 16 ints, 8 zeros and then the sums per 32: the Q4_K and Q5_K kernels multiply them by their scales and mins at once. */
    private int[] minSums = new int[0];
    private int blocks;

    /** quantize_row_q8_K for the first n rows of x, into this buffer (reused across calls by one thread). */
    Q8KActivations quantize(CpuAct x, int n) {
        int cols = x.cols();
        blocks = cols / QK;
        if (q.length < n * cols) q = new byte[n * cols];
        if (scales.length < n * blocks) scales = new float[n * blocks];
        if (sums.length < n * blocks * 16) sums = new short[n * blocks * 16];
        if (wide.length < n * cols) wide = new short[n * cols];
        if (nibbleOrdered.length < n * cols) nibbleOrdered = new short[n * cols];
        if (minSums.length < n * blocks * 16) minSums = new int[n * blocks * 16];
        if (q6kOrdered.length < n * cols) q6kOrdered = new short[n * cols];
        if (sums16.length < n * blocks * 16) sums16 = new int[n * blocks * 16];
        float[] d = x.data();
        for (int t = 0; t < n; t++) {
            for (int b = 0; b < blocks; b++) {
                int o = x.at(t) + b * QK, qo = t * cols + b * QK, blk = t * blocks + b;
                float max = 0, amax = 0;
                for (int j = 0; j < QK; j++) {
                    float ax = Math.abs(d[o + j]);
                    if (ax > amax) {
                        amax = ax;
                        max = d[o + j];
                    }
                }
                // -127/max, not 127/amax: the value of largest magnitude becomes -127 and the scale takes its sign.
                float iscale = amax == 0 ? 0 : -127f / max;
                for (int j = 0; j < QK; j++) {
                    q[qo + j] = amax == 0 ? 0 : (byte) Math.min(127, KQuants.nearestInt(iscale * d[o + j]));
                    wide[qo + j] = q[qo + j];
                }
                for (int g = 0; g < 16; g++) {
                    int sum = 0;
                    for (int i = 0; i < 16; i++) sum += q[qo + g * 16 + i];
                    sums[blk * 16 + g] = (short) sum;
                }
                for (int p = 0; p < QK; p++) nibbleOrdered[qo + p] = wide[qo + KQuantKernels.Q4K_NIBBLE_ORDER[p]];
                for (int p = 0; p < QK; p++) q6kOrdered[qo + p] = wide[qo + KQuantKernels.Q6K_NIBBLE_ORDER[p]];
                for (int g = 0; g < 16; g++) sums16[blk * 16 + g] = sums[blk * 16 + g];
                for (int k = 0; k < 8; k++) minSums[blk * 16 + 8 + k] = sums[blk * 16 + 2 * k] + sums[blk * 16 + 2 * k + 1];
                scales[blk] = amax == 0 ? 0 : 1 / iscale; // an all-zero block: GGML stores d = 0 and zero values
            }
        }
        return this;
    }

    byte[] values() {
        return q;
    }

    float[] scales() {
        return scales;
    }

    short[] sums() {
        return sums;
    }

    short[] wideValues() {
        return wide;
    }

    short[] nibbleOrderedValues() {
        return nibbleOrdered;
    }

    short[] q6kOrderedValues() {
        return q6kOrdered;
    }

    int[] sums16() {
        return sums16;
    }

    int[] minSums() {
        return minSums;
    }

    /** Offset of token t's blocks in {@link #minSums} and {@link #sums16}: 16 ints per block in both. */
    int minSumsOffset(int t) {
        return t * blocks * 16;
    }

    int valueOffset(int t) {
        return t * blocks * QK;
    }

    int scaleOffset(int t) {
        return t * blocks;
    }

    /** ggml_vec_dot_q4_K_q8_K's generic arithmetic: sum(scale * q * x) per block, less dmin * sum(min * bsum). */
    float dotQ4_K(MemorySegment w, long rowOffset, int t) {
        return dotScaleMin(w, rowOffset, t, false);
    }

    /** As {@link #dotQ4_K}, the fifth bit of each value taken from qh. */
    float dotQ5_K(MemorySegment w, long rowOffset, int t) {
        return dotScaleMin(w, rowOffset, t, true);
    }

    /**
     * GGML's generic kernels keep eight int lanes per block (element e in lane e % 8), add d times each lane into
     * eight float lanes across blocks, subtract the min terms block by block, and add the eight lanes last. Lane by
     * lane here, so that nothing is allocated and threads may share this object; the float operations and their order
     * are the same.
     */
    private float dotScaleMin(MemorySegment w, long rowOffset, int t, boolean fifthBit) {
        int blockBytes = fifthBit ? 176 : 144;
        float sumf = 0;
        for (int b = 0; b < blocks; b++) {
            long base = rowOffset + (long) blockBytes * b;
            int blk = scaleOffset(t) + b;
            int minSum = 0;
            for (int g = 0; g < 16; g++) minSum += sums[blk * 16 + g] * KQuants.scaleOrMin(w, base + 4, 8 + g / 2);
            float dmin = Float.float16ToFloat(w.get(I16_LE, base + 2)) * scales[blk];
            sumf -= dmin * minSum;
        }
        for (int lane = 0; lane < 8; lane++) {
            float laneSum = 0;
            for (int b = 0; b < blocks; b++) {
                long base = rowOffset + (long) blockBytes * b;
                int xo = valueOffset(t) + b * QK, blk = scaleOffset(t) + b;
                int isum = 0;
                for (int e = lane; e < QK; e += 8) isum += KQuants.scaleOrMin(w, base + 4, e / 32) * (q[xo + e] * level(w, base, e, fifthBit));
                laneSum += Float.float16ToFloat(w.get(I16_LE, base)) * scales[blk] * isum;
            }
            sumf += laneSum;
        }
        return sumf;
    }

    /** Element e (0..255) of a Q4_K or Q5_K block: a nibble of qs[32 * (e / 64) + e % 32], low for the first 32 of each 64. */
    private static int level(MemorySegment w, long base, int e, boolean fifthBit) {
        int c = e / 64, l = e % 32;
        boolean high = (e % 64) >= 32;
        int packed = w.get(ValueLayout.JAVA_BYTE, base + (fifthBit ? 48 : 16) + 32L * c + l) & 0xFF;
        int v = high ? packed >>> 4 : packed & 0xF;
        if (fifthBit) v |= ((w.get(ValueLayout.JAVA_BYTE, base + 16 + l) >>> (2 * c + (high ? 1 : 0))) & 1) << 4;
        return v;
    }

    /** ggml_vec_dot_q6_K_q8_K's generic arithmetic: sum(scale * (q - 32) * x) per block, int8 scales per 16 values. */
    float dotQ6_K(MemorySegment w, long rowOffset, int t) {
        float sumf = 0;
        for (int lane = 0; lane < 8; lane++) {
            float laneSum = 0;
            for (int b = 0; b < blocks; b++) {
                long base = rowOffset + 210L * b;
                int xo = valueOffset(t) + b * QK, blk = scaleOffset(t) + b;
                int isum = 0;
                for (int e = lane; e < QK; e += 8) isum += w.get(ValueLayout.JAVA_BYTE, base + 192 + e / 16) * (q[xo + e] * KQuants.q6(w, base, e));
                laneSum += Float.float16ToFloat(w.get(I16_LE, base + 208)) * scales[blk] * isum;
            }
            sumf += laneSum;
        }
        return sumf;
    }
}
