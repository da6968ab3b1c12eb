package dev.longbow.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * GGML's K-quant super-block formats (Q4_K, Q5_K, Q6_K): reading them back to floats, and writing them with the
 * algorithms of GGML's reference quantizers (quantize_row_q4_K_ref and its siblings, without an importance matrix),
 * step for step in float so that a file written here has the bytes llama-quantize would write.
 */
public final class KQuants {
    private KQuants() {}

    public static final int QK_K = 256;
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** GGML treats a group whose largest magnitude is below this as all zeros. */
    private static final float GROUP_MAX_EPS = 1e-15f;

    // ---- reading ----

    /**
     * The 6-bit scale (j in 0..7) or, with j in 8..15, the 6-bit min of sub-block j-8, from the 12 packed bytes at
     * {@code at}: sub-blocks 0-3 keep theirs in the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); sub-blocks 4-7 keep
     * their low 4 bits in the nibbles of bytes 8-11 and their top 2 bits in the spare top bits of bytes 0-7.
     */
    public static int scaleOrMin(MemorySegment src, long at, int j) {
        boolean min = j >= 8;
        int k = j & 7;
        if (k < 4) return byteAt(src, at + k + (min ? 4 : 0)) & 63;
        int low = byteAt(src, at + k + 4);
        int low4 = min ? low >>> 4 : low & 0xF;
        return low4 | ((byteAt(src, at + k - 4 + (min ? 4 : 0)) >>> 6) << 4);
    }

    private static int byteAt(MemorySegment src, long at) {
        return src.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    private static float half(MemorySegment src, long at) {
        return Float.float16ToFloat(src.get(I16_LE, at));
    }

    /** dequantize_row_q4_K: per sub-block, d*scale times the nibble, less dmin*min. */
    static void dequantizeQ4K(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / QK_K; b++) {
            long base = offset + 144L * b;
            float d = half(src, base), dmin = half(src, base + 2);
            int y = dstOff + b * QK_K;
            for (int c = 0; c < 4; c++) {
                float d1 = d * scaleOrMin(src, base + 4, 2 * c), m1 = dmin * scaleOrMin(src, base + 4, 8 + 2 * c);
                float d2 = d * scaleOrMin(src, base + 4, 2 * c + 1), m2 = dmin * scaleOrMin(src, base + 4, 9 + 2 * c);
                long qs = base + 16 + 32L * c;
                for (int l = 0; l < 32; l++) dst[y + 64 * c + l] = d1 * (byteAt(src, qs + l) & 0xF) - m1;
                for (int l = 0; l < 32; l++) dst[y + 64 * c + 32 + l] = d2 * (byteAt(src, qs + l) >>> 4) - m2;
            }
        }
    }

    /** dequantize_row_q5_K: as Q4_K, with bit 2c (low sub-block) or 2c+1 (high) of qh[l] adding 16. */
    static void dequantizeQ5K(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / QK_K; b++) {
            long base = offset + 176L * b;
            float d = half(src, base), dmin = half(src, base + 2);
            long qh = base + 16, qs = base + 48;
            int y = dstOff + b * QK_K;
            for (int c = 0; c < 4; c++) {
                float d1 = d * scaleOrMin(src, base + 4, 2 * c), m1 = dmin * scaleOrMin(src, base + 4, 8 + 2 * c);
                float d2 = d * scaleOrMin(src, base + 4, 2 * c + 1), m2 = dmin * scaleOrMin(src, base + 4, 9 + 2 * c);
                for (int l = 0; l < 32; l++) {
                    int packed = byteAt(src, qs + 32L * c + l), high = byteAt(src, qh + l);
                    dst[y + 64 * c + l] = d1 * ((packed & 0xF) + ((high >>> (2 * c)) & 1) * 16) - m1;
                    dst[y + 64 * c + 32 + l] = d2 * ((packed >>> 4) + ((high >>> (2 * c + 1)) & 1) * 16) - m2;
                }
            }
        }
    }

    /** The 6-bit value of element {@code e} (0..255) of the Q6_K super-block at {@code base}, less 32. */
    public static int q6(MemorySegment src, long base, int e) {
        int half = e / 128, r = e % 128, quarter = r / 32, l = r % 32;
        int low = byteAt(src, base + 64L * half + l + (quarter & 1) * 32);
        int low4 = quarter < 2 ? low & 0xF : low >>> 4;
        int high2 = (byteAt(src, base + 128 + 32L * half + l) >>> (2 * quarter)) & 3;
        return (low4 | (high2 << 4)) - 32;
    }

    /** dequantize_row_q6_K: d times the sub-block's int8 scale, then times the value. */
    static void dequantizeQ6K(MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        for (int b = 0; b < n / QK_K; b++) {
            long base = offset + 210L * b;
            float d = half(src, base + 208);
            for (int e = 0; e < QK_K; e++) {
                int scale = src.get(ValueLayout.JAVA_BYTE, base + 192 + e / 16);
                dst[dstOff + b * QK_K + e] = d * scale * q6(src, base, e);
            }
        }
    }

    // ---- writing ----

    /** GGML's nearest_int: adding 1.5 * 2^23 leaves the rounded integer (ties to even) in the mantissa's low bits. */
    public static int nearestInt(float v) {
        int bits = Float.floatToRawIntBits(v + 12582912f);
        return (bits & 0x007fffff) - 0x00400000;
    }

    /** Encodes x (a whole number of super-blocks) into {@code out}, which must hold zeros: quantize_row_q4_K_ref. */
    static void encodeQ4K(float[] x, byte[] out) {
        encodeScaleMinType(x, out, 15, -1f, 20, 144);
    }

    /** As {@link #encodeQ4K}: quantize_row_q5_K_ref. */
    static void encodeQ5K(float[] x, byte[] out) {
        encodeScaleMinType(x, out, 31, -0.5f, 15, 176);
    }

    /**
     * quantize_row_q4_K_ref (nmax 15) and quantize_row_q5_K_ref (nmax 31): fit scale and min per sub-block of 32 with
     * make_qkx2_quants, quantize those to 6 bits against the largest of each, then requantize the values with the
     * rounded scales.
     */
    private static void encodeScaleMinType(float[] x, byte[] out, int nmax, float rmin, int nstep, int blockBytes) {
        byte[] levels = new byte[QK_K];
        byte[] aux = new byte[32];
        float[] weights = new float[32];
        float[] mins = new float[8], scales = new float[8];
        float[] min = new float[1];
        byte[] packedScales = new byte[12];
        for (int b = 0; b < x.length / QK_K; b++) {
            int xo = b * QK_K, yo = b * blockBytes;
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 8; j++) {
                float sumX2 = 0;
                for (int l = 0; l < 32; l++) sumX2 += x[xo + 32 * j + l] * x[xo + 32 * j + l];
                float avX = (float) Math.sqrt(sumX2 / 32);
                for (int l = 0; l < 32; l++) weights[l] = avX + Math.abs(x[xo + 32 * j + l]);
                scales[j] = makeQkx2Quants(32, nmax, x, xo + 32 * j, weights, levels, 32 * j, min, aux, rmin, 0.1f, nstep);
                mins[j] = min[0];
                if (scales[j] > maxScale) maxScale = scales[j];
                if (mins[j] > maxMin) maxMin = mins[j];
            }
            float invScale = maxScale > 0 ? 63f / maxScale : 0f;
            float invMin = maxMin > 0 ? 63f / maxMin : 0f;
            java.util.Arrays.fill(packedScales, (byte) 0);
            for (int j = 0; j < 8; j++) {
                // The C code stores nearest_int's result in a uint8_t before clamping: keep that truncation.
                int ls = Math.min(63, nearestInt(invScale * scales[j]) & 0xFF);
                int lm = Math.min(63, nearestInt(invMin * mins[j]) & 0xFF);
                if (j < 4) {
                    packedScales[j] = (byte) ls;
                    packedScales[j + 4] = (byte) lm;
                } else {
                    packedScales[j + 4] = (byte) ((ls & 0xF) | ((lm & 0xF) << 4));
                    packedScales[j - 4] |= (byte) ((ls >> 4) << 6);
                    packedScales[j] |= (byte) ((lm >> 4) << 6);
                }
            }
            short dHalf = Float.floatToFloat16(maxScale / 63f), dminHalf = Float.floatToFloat16(maxMin / 63f);
            putHalf(out, yo, dHalf);
            putHalf(out, yo + 2, dminHalf);
            System.arraycopy(packedScales, 0, out, yo + 4, 12);
            MemorySegment scaleBytes = MemorySegment.ofArray(packedScales);
            for (int j = 0; j < 8; j++) {
                float d = Float.float16ToFloat(dHalf) * scaleOrMin(scaleBytes, 0, j);
                if (d == 0) continue; // the sub-block keeps the levels its own fit chose
                float dm = Float.float16ToFloat(dminHalf) * scaleOrMin(scaleBytes, 0, 8 + j);
                for (int i = 0; i < 32; i++) {
                    int l = nearestInt((x[xo + 32 * j + i] + dm) / d);
                    levels[32 * j + i] = (byte) Math.max(0, Math.min(nmax, l));
                }
            }
            if (nmax == 15) {
                for (int c = 0; c < 4; c++) {
                    for (int l = 0; l < 32; l++) out[yo + 16 + 32 * c + l] = (byte) (levels[64 * c + l] | (levels[64 * c + 32 + l] << 4));
                }
            } else {
                int qh = yo + 16, qs = yo + 48;
                for (int c = 0; c < 4; c++) {
                    for (int l = 0; l < 32; l++) {
                        int l1 = levels[64 * c + l], l2 = levels[64 * c + 32 + l];
                        if (l1 > 15) {
                            l1 -= 16;
                            out[qh + l] |= (byte) (1 << (2 * c));
                        }
                        if (l2 > 15) {
                            l2 -= 16;
                            out[qh + l] |= (byte) (2 << (2 * c));
                        }
                        out[qs + 32 * c + l] = (byte) (l1 | (l2 << 4));
                    }
                }
            }
        }
    }

    /**
     * make_qkx2_quants: levels 0..nmax for x[xo..xo+n) as scale*L - min with min <= 0, minimising the weighted squared
     * error over nstep+1 trial scales around nmax/(max-min), each refined by weighted least squares. Returns the scale;
     * {@code theMin[0]} receives the (non-negative) min.
     */
    private static float makeQkx2Quants(int n, int nmax, float[] x, int xo, float[] weights, byte[] levels, int lo,
                                        float[] theMin, byte[] aux, float rmin, float rdelta, int nstep) {
        float min = x[xo], max = x[xo];
        float sumW = weights[0];
        float sumX = sumW * x[xo];
        for (int i = 1; i < n; i++) {
            if (x[xo + i] < min) min = x[xo + i];
            if (x[xo + i] > max) max = x[xo + i];
            float w = weights[i];
            sumW += w;
            sumX += w * x[xo + i];
        }
        if (min > 0) min = 0;
        if (max == min) {
            for (int i = 0; i < n; i++) levels[lo + i] = 0;
            theMin[0] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = nearestInt(iscale * (x[xo + i] - min));
            levels[lo + i] = (byte) Math.max(0, Math.min(nmax, l));
            float diff = scale * levels[lo + i] + min - x[xo + i];
            bestError += weights[i] * (diff * diff);
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++) {
                int l = Math.max(0, Math.min(nmax, nearestInt(iscale * (x[xo + i] - min))));
                aux[i] = (byte) l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[xo + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float error = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * aux[i] + thisMin - x[xo + i];
                    error += weights[i] * (diff * diff);
                }
                if (error < bestError) {
                    System.arraycopy(aux, 0, levels, lo, n);
                    bestError = error;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[0] = -min;
        return scale;
    }

    /**
     * quantize_row_q6_K_ref, into zeroed {@code out}: a signed scale per sub-block of 16 from make_qx_quants (levels -32..31), the scales
     * quantized to int8 against the largest in magnitude, then the values requantized with the rounded scales.
     */
    static void encodeQ6K(float[] x, byte[] out) {
        byte[] levels = new byte[QK_K];
        float[] scales = new float[16];
        for (int b = 0; b < x.length / QK_K; b++) {
            int xo = b * QK_K, yo = b * 210;
            float maxScale = 0, maxAbsScale = 0;
            for (int ib = 0; ib < 16; ib++) {
                float scale = makeQxQuants(16, 32, x, xo + 16 * ib, levels, 16 * ib);
                scales[ib] = scale;
                if (Math.abs(scale) > maxAbsScale) {
                    maxAbsScale = Math.abs(scale);
                    maxScale = scale;
                }
            }
            if (maxAbsScale < GROUP_MAX_EPS) continue; // an all-zero block: zero bytes, d = 0
            float iscale = -128f / maxScale;
            short dHalf = Float.floatToFloat16(1 / iscale);
            putHalf(out, yo + 208, dHalf);
            for (int ib = 0; ib < 16; ib++) out[yo + 192 + ib] = (byte) Math.min(127, nearestInt(iscale * scales[ib]));
            for (int j = 0; j < 16; j++) {
                float d = Float.float16ToFloat(dHalf) * out[yo + 192 + j];
                if (d == 0) continue;
                for (int i = 0; i < 16; i++) {
                    int l = Math.max(-32, Math.min(31, nearestInt(x[xo + 16 * j + i] / d)));
                    levels[16 * j + i] = (byte) (l + 32);
                }
            }
            for (int h = 0; h < 2; h++) {
                int ql = yo + 64 * h, qh = yo + 128 + 32 * h, e = 128 * h;
                for (int l = 0; l < 32; l++) {
                    int q1 = levels[e + l], q2 = levels[e + l + 32], q3 = levels[e + l + 64], q4 = levels[e + l + 96];
                    out[ql + l] = (byte) ((q1 & 0xF) | ((q3 & 0xF) << 4));
                    out[ql + l + 32] = (byte) ((q2 & 0xF) | ((q4 & 0xF) << 4));
                    out[qh + l] = (byte) ((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
                }
            }
        }
    }

    /**
     * make_qx_quants with rmse_type 1 and no importance weights: signed levels -nmax..nmax-1 (stored +nmax), the
     * scale fitted by least squares weighted by x², trying 18 scales around nmax/max and keeping the best.
     */
    private static float makeQxQuants(int n, int nmax, float[] x, int xo, byte[] levels, int lo) {
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[xo + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xo + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) levels[lo + i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        float sumLX = 0, sumL2 = 0;
        for (int i = 0; i < n; i++) {
            int l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * x[xo + i])));
            levels[lo + i] = (byte) (l + nmax);
            float w = x[xo + i] * x[xo + i];
            sumLX += w * x[xo + i] * l;
            sumL2 += w * l * l;
        }
        float scale = sumL2 != 0 ? sumLX / sumL2 : 0f;
        float best = scale * sumLX;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) continue;
            iscale = -(nmax + 0.1f * is) / max;
            sumLX = sumL2 = 0;
            for (int i = 0; i < n; i++) {
                int l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * x[xo + i])));
                float w = x[xo + i] * x[xo + i];
                sumLX += w * x[xo + i] * l;
                sumL2 += w * l * l;
            }
            if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
                for (int i = 0; i < n; i++) {
                    levels[lo + i] = (byte) (nmax + Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * x[xo + i]))));
                }
                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }
        return scale;
    }

    private static void putHalf(byte[] out, int at, short h) {
        out[at] = (byte) h;
        out[at + 1] = (byte) (h >> 8);
    }
}
