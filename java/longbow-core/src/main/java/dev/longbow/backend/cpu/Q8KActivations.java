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
    /** Per 16 quantized values, their sum: the min terms of Q4_K and Q5_K need only these, Q6_K's offset of 32 these. */
    private int[] sums = new int[0];
    // What the vector kernels read, built from the values on first request after each quantize (a matmul's weights
    // use one of them, a prompt's tiles neither): the values in KQuantKernels.Q4K_NIBBLE_ORDER with, per block, 16
    // ints (8 zeros, then the sums per 32) for Q4_K and Q5_K; the values in Q6K_NIBBLE_ORDER for Q6_K.
    private short[] q4kOrdered = new short[0], q6kOrdered = new short[0];
    private int[] minSums = new int[0];
    private boolean q4kReady, q6kReady;
    private int blocks, count;

    /** quantize_row_q8_K for the first n rows of x, into this buffer (reused across calls by one thread). */
    Q8KActivations quantize(CpuAct x, int n) {
        int cols = x.cols();
        blocks = cols / QK;
        count = n * blocks;
        q4kReady = q6kReady = false;
        if (q.length < n * cols) q = new byte[n * cols];
        if (scales.length < n * blocks) scales = new float[n * blocks];
        if (sums.length < n * blocks * 16) sums = new int[n * blocks * 16];
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
                for (int j = 0; j < QK; j++) q[qo + j] = amax == 0 ? 0 : (byte) Math.min(127, KQuants.nearestInt(iscale * d[o + j]));
                for (int g = 0; g < 16; g++) {
                    int sum = 0;
                    for (int i = 0; i < 16; i++) sum += q[qo + g * 16 + i];
                    sums[blk * 16 + g] = sum;
                }
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

    /** Per 16 values their sum, 16 per block; also what the Q6_K kernel reads (offset {@link #sumsOffset}). */
    int[] sums() {
        return sums;
    }

    /**
     * The values in {@link KQuantKernels#Q4K_NIBBLE_ORDER}, built on first request after a quantize: callers on
     * several threads ask once before sharing it out (CpuOps does, under its pool's lock).
     */
    short[] q4kOrderedValues() {
        if (!q4kReady) {
            if (q4kOrdered.length < count * QK) {
                q4kOrdered = new short[count * QK];
                minSums = new int[count * 16];
            }
            for (int blk = 0; blk < count; blk++) {
                for (int p = 0; p < QK; p++) q4kOrdered[blk * QK + p] = q[blk * QK + KQuantKernels.Q4K_NIBBLE_ORDER[p]];
                for (int k = 0; k < 8; k++) minSums[blk * 16 + 8 + k] = sums[blk * 16 + 2 * k] + sums[blk * 16 + 2 * k + 1];
            }
            q4kReady = true;
        }
        return q4kOrdered;
    }

    /** Per block 8 zeros and the sums per 32, beside {@link #q4kOrderedValues} (which builds them). */
    int[] minSums() {
        return minSums;
    }

    /** The values in {@link KQuantKernels#Q6K_NIBBLE_ORDER}, built as {@link #q4kOrderedValues} is. */
    short[] q6kOrderedValues() {
        if (!q6kReady) {
            if (q6kOrdered.length < count * QK) q6kOrdered = new short[count * QK];
            for (int blk = 0; blk < count; blk++) {
                for (int p = 0; p < QK; p++) q6kOrdered[blk * QK + p] = q[blk * QK + KQuantKernels.Q6K_NIBBLE_ORDER[p]];
            }
            q6kReady = true;
        }
        return q6kOrdered;
    }

    /** Offset of token t's blocks in {@link #sums} and {@link #minSums}: 16 ints per block in both. */
    int sumsOffset(int t) {
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
