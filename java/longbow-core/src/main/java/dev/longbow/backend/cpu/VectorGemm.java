package dev.longbow.backend.cpu;

import dev.longbow.tensor.KQuants;
import dev.longbow.tensor.Tensor;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Matrix-matrix products for prefill. Weight rows are widened to float once per prompt chunk into a small panel (it
 * stays in cache), so each weight is decoded once per chunk instead of once per token. Outer-product tiles then run
 * over the panel ({@link #panelOuter}): the activations are transposed so one vector holds one column of several
 * tokens, each step broadcasts a weight of each of 8 rows into two such vectors, and no sum needs its lanes added
 * up. The compressed types widen their panels themselves ({@code CompressedLayout.dequantizeRow}). Quantized weights meet activations already rounded to what the integer decode path sees (Q8_0 or Q8_K
 * blocks, or F16 for F16 weights), so a prompt and the same tokens decoded one by one agree to float rounding.
 * Decode (one token) stays on {@link VectorKernels}, where memory, not arithmetic, is the limit.
 * <p>Each method is self-contained on purpose: a vector passed to or returned from a call the JIT does not inline
 * becomes a heap object, which costs more than the arithmetic.
 */
final class VectorGemm {
    private VectorGemm() {}

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final VectorSpecies<Float> F = VectorKernels.F;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S_HALF = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Byte> B_QUARTER = VectorKernels.SUPPORTED ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4)) : null;
    private static final int L = F.length();

    /**
     * Which kind of weight row the panel is widened from. K-quant rows go through ggml's exact scalar dequantizer:
     * once per row per chunk, that costs less than the dot products it replaces.
     */
    enum Weights { F32, F16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K }

    static boolean supports(int cols, Weights kind) {
        int block = switch (kind) {
            case F32, F16 -> 1;
            case Q8_0, Q4_0 -> 32;
            case Q4_K, Q5_K, Q6_K -> 256;
        };
        return cols % L == 0 && cols % block == 0 && L <= 16;
    }

    /**
     * Rows per panel of the outer-product path ({@link #rowsOuter}): each step over k broadcasts one weight of each
     * of these rows and multiplies it into two vectors of tokens (16 running sums with 16 lanes), so no sum ever
     * needs its lanes added up, and each load feeds 1.6 multiply-adds. In C on this VM the same shape ran at 255
     * GFLOP/s on one core against 152 for the 4x4 dot-product tile prefill used before (docs/PERFORMANCE.md).
     */
    static final int OUTER_ROWS = 8;

    /** Floats of the lanes scratch {@link #rowsOuter} needs. */
    static final int OUTER_LANES = 2 * L;

    /** Floats of panel scratch {@link #rowsOuter} needs. */
    static int outerScratchLength(int cols) {
        return OUTER_ROWS * cols;
    }

    /** Token slots per column of the transposed activations: n rounded up to whole vectors. */
    static int transposedStride(int n) {
        return (n + L - 1) / L * L;
    }

    /** x[xOffset + t * cols + k] for t in [0, n) into xT[k * stride + t], stride = {@link #transposedStride}(n); padding zeroed. */
    static void transpose(float[] x, int xOffset, int n, int cols, float[] xT) {
        int stride = transposedStride(n);
        // 16 columns at a time: one cache line read per token, and the 16 rows written stay in L1 (3x faster than
        // a column at a time over every token).
        for (int k0 = 0; k0 < cols; k0 += 16) {
            int k1 = Math.min(cols, k0 + 16);
            for (int t = 0; t < n; t++) {
                int from = xOffset + t * cols;
                for (int k = k0; k < k1; k++) xT[k * stride + t] = x[from + k];
            }
            for (int k = k0; k < k1; k++) java.util.Arrays.fill(xT, k * stride + n, (k + 1) * stride, 0f);
        }
    }

    /**
     * As {@link #transpose}, from int8 activations q[t * cols + k] with one scale per block of {@code block} values
     * (scales[t * cols / block + k / block]; a block of cols for one scale per token): the floats the integer decode
     * path stands for, q * scale, written straight into the transposed layout.
     */
    static void transposeDequantized(byte[] q, float[] scales, int block, int n, int cols, float[] xT) {
        // Column groups within one block (16 columns, or fewer when the block is not a multiple of 16), so one scale
        // serves the whole group: a division per element cost a tenth of the prefill.
        int stride = transposedStride(n), blocks = cols / block, group = Math.min(16, Integer.lowestOneBit(block));
        for (int k0 = 0; k0 < cols; k0 += group) {
            int k1 = Math.min(cols, k0 + group);
            for (int t = 0; t < n; t++) {
                int from = t * cols;
                float scale = scales[t * blocks + k0 / block];
                for (int k = k0; k < k1; k++) xT[k * stride + t] = q[from + k] * scale;
            }
            for (int k = k0; k < k1; k++) java.util.Arrays.fill(xT, k * stride + n, (k + 1) * stride, 0f);
        }
    }

    /**
     * Rows [r0, r0 + rows) of w (rows at most {@link #OUTER_ROWS}) times the n tokens of the transposed activations
     * xT, into out[outOffset + t * outStride + r]: the rows widened into {@code panel} (at least
     * {@link #outerScratchLength} floats), then {@link #panelOuter}.
     */
    static void rowsOuter(Weights kind, MemorySegment w, long rowBytes, int r0, int rows, float[] xT, int n, int cols,
                          float[] out, int outOffset, int outStride, float[] panel, float[] lanes) {
        for (int r = 0; r < OUTER_ROWS; r++) {
            long row = (long) (r0 + Math.min(r, rows - 1)) * rowBytes; // a short group repeats its last row
            widen(kind, w, row, cols, panel, r * cols);
        }
        panelOuter(panel, r0, rows, xT, n, cols, out, outOffset, outStride, lanes);
    }

    /**
     * A panel of {@link #OUTER_ROWS} rows of {@code cols} floats (a short group repeating its last row; the first
     * {@code rows} are rows r0..) times the n tokens of the transposed activations xT, into
     * out[outOffset + t * outStride + r0 + r]. Every output is one running sum over k in column order.
     * {@code lanes} holds at least {@link #OUTER_LANES} floats.
     */
    static void panelOuter(float[] panel, int r0, int rows, float[] xT, int n, int cols, float[] out, int outOffset, int outStride,
                           float[] lanes) {
        int stride = transposedStride(n), t0 = 0;
        for (; t0 + 2 * L <= stride; t0 += 2 * L) outer8x2(panel, cols, xT, stride, t0, n, r0, rows, out, outOffset, outStride, lanes);
        if (t0 < stride) outer8x1(panel, cols, xT, stride, t0, n, r0, rows, out, outOffset, outStride, lanes);
    }

    /** lanes[0, count) are tokens t0.. of row r: the ones below n go to out. */
    private static void scatter(float[] lanes, int count, int t0, int n, float[] out, int outOffset, int outStride, int r) {
        for (int j = 0; j < count && t0 + j < n; j++) out[outOffset + (t0 + j) * outStride + r] = lanes[j];
    }

    private static void outer8x2(float[] panel, int cols, float[] xT, int stride, int t0, int n, int r0, int rows,
                                 float[] out, int outOffset, int outStride, float[] lanes) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int k = 0; k < cols; k++) {
            int xk = k * stride + t0;
            FloatVector x0 = FloatVector.fromArray(F, xT, xk);
            FloatVector x1 = FloatVector.fromArray(F, xT, xk + L);
            FloatVector b0 = FloatVector.broadcast(F, panel[k]);
            c00 = x0.fma(b0, c00);
            c01 = x1.fma(b0, c01);
            FloatVector b1 = FloatVector.broadcast(F, panel[cols + k]);
            c10 = x0.fma(b1, c10);
            c11 = x1.fma(b1, c11);
            FloatVector b2 = FloatVector.broadcast(F, panel[2 * cols + k]);
            c20 = x0.fma(b2, c20);
            c21 = x1.fma(b2, c21);
            FloatVector b3 = FloatVector.broadcast(F, panel[3 * cols + k]);
            c30 = x0.fma(b3, c30);
            c31 = x1.fma(b3, c31);
            FloatVector b4 = FloatVector.broadcast(F, panel[4 * cols + k]);
            c40 = x0.fma(b4, c40);
            c41 = x1.fma(b4, c41);
            FloatVector b5 = FloatVector.broadcast(F, panel[5 * cols + k]);
            c50 = x0.fma(b5, c50);
            c51 = x1.fma(b5, c51);
            FloatVector b6 = FloatVector.broadcast(F, panel[6 * cols + k]);
            c60 = x0.fma(b6, c60);
            c61 = x1.fma(b6, c61);
            FloatVector b7 = FloatVector.broadcast(F, panel[7 * cols + k]);
            c70 = x0.fma(b7, c70);
            c71 = x1.fma(b7, c71);
        }
        {
            c00.intoArray(lanes, 0);
            c01.intoArray(lanes, L);
            scatter(lanes, 2 * L, t0, n, out, outOffset, outStride, r0 + 0);
        }
        if (1 < rows) {
            c10.intoArray(lanes, 0);
            c11.intoArray(lanes, L);
            scatter(lanes, 2 * L, t0, n, out, outOffset, outStride, r0 + 1);
        }
        if (2 < rows) {
            c20.intoArray(lanes, 0);
            c21.intoArray(lanes, L);
            scatter(lanes, 2 * L, t0, n, out, outOffset, outStride, r0 + 2);
        }
        if (3 < rows) {
            c30.intoArray(lanes, 0);
            c31.intoArray(lanes, L);
            scatter(lanes, 2 * L, t0, n, out, outOffset, outStride, r0 + 3);
        }
        if (4 < rows) {
            c40.intoArray(lanes, 0);
            c41.intoArray(lanes, L);
            scatter(lanes, 2 * L, t0, n, out, outOffset, outStride, r0 + 4);
        }
        if (5 < rows) {
            c50.intoArray(lanes, 0);
            c51.intoArray(lanes, L);
            scatter(lanes, 2 * L, t0, n, out, outOffset, outStride, r0 + 5);
        }
        if (6 < rows) {
            c60.intoArray(lanes, 0);
            c61.intoArray(lanes, L);
            scatter(lanes, 2 * L, t0, n, out, outOffset, outStride, r0 + 6);
        }
        if (7 < rows) {
            c70.intoArray(lanes, 0);
            c71.intoArray(lanes, L);
            scatter(lanes, 2 * L, t0, n, out, outOffset, outStride, r0 + 7);
        }
    }

    private static void outer8x1(float[] panel, int cols, float[] xT, int stride, int t0, int n, int r0, int rows,
                                 float[] out, int outOffset, int outStride, float[] lanes) {
        FloatVector c00 = FloatVector.zero(F), c10 = c00, c20 = c00, c30 = c00, c40 = c00, c50 = c00, c60 = c00, c70 = c00;
        for (int k = 0; k < cols; k++) {
            int xk = k * stride + t0;
            FloatVector x0 = FloatVector.fromArray(F, xT, xk);
            FloatVector b0 = FloatVector.broadcast(F, panel[k]);
            c00 = x0.fma(b0, c00);
            FloatVector b1 = FloatVector.broadcast(F, panel[cols + k]);
            c10 = x0.fma(b1, c10);
            FloatVector b2 = FloatVector.broadcast(F, panel[2 * cols + k]);
            c20 = x0.fma(b2, c20);
            FloatVector b3 = FloatVector.broadcast(F, panel[3 * cols + k]);
            c30 = x0.fma(b3, c30);
            FloatVector b4 = FloatVector.broadcast(F, panel[4 * cols + k]);
            c40 = x0.fma(b4, c40);
            FloatVector b5 = FloatVector.broadcast(F, panel[5 * cols + k]);
            c50 = x0.fma(b5, c50);
            FloatVector b6 = FloatVector.broadcast(F, panel[6 * cols + k]);
            c60 = x0.fma(b6, c60);
            FloatVector b7 = FloatVector.broadcast(F, panel[7 * cols + k]);
            c70 = x0.fma(b7, c70);
        }
        {
            c00.intoArray(lanes, 0);
            scatter(lanes, 1 * L, t0, n, out, outOffset, outStride, r0 + 0);
        }
        if (1 < rows) {
            c10.intoArray(lanes, 0);
            scatter(lanes, 1 * L, t0, n, out, outOffset, outStride, r0 + 1);
        }
        if (2 < rows) {
            c20.intoArray(lanes, 0);
            scatter(lanes, 1 * L, t0, n, out, outOffset, outStride, r0 + 2);
        }
        if (3 < rows) {
            c30.intoArray(lanes, 0);
            scatter(lanes, 1 * L, t0, n, out, outOffset, outStride, r0 + 3);
        }
        if (4 < rows) {
            c40.intoArray(lanes, 0);
            scatter(lanes, 1 * L, t0, n, out, outOffset, outStride, r0 + 4);
        }
        if (5 < rows) {
            c50.intoArray(lanes, 0);
            scatter(lanes, 1 * L, t0, n, out, outOffset, outStride, r0 + 5);
        }
        if (6 < rows) {
            c60.intoArray(lanes, 0);
            scatter(lanes, 1 * L, t0, n, out, outOffset, outStride, r0 + 6);
        }
        if (7 < rows) {
            c70.intoArray(lanes, 0);
            scatter(lanes, 1 * L, t0, n, out, outOffset, outStride, r0 + 7);
        }
    }

    /** One weight row as floats, exactly the values {@link Tensor#dequantize} gives. */
    static void widen(Weights kind, MemorySegment w, long row, int cols, float[] dst, int at) {
        switch (kind) {
            case F32 -> widenF32(w, row, cols, dst, at);
            case F16 -> widenF16(w, row, cols, dst, at);
            case Q8_0 -> widenQ8_0(w, row, cols, dst, at);
            case Q4_0 -> widenQ4_0(w, row, cols, dst, at);
            case Q4_K -> widenQ4_K(w, row, cols, dst, at);
            case Q5_K -> widenQ5_K(w, row, cols, dst, at);
            case Q6_K -> widenQ6_K(w, row, cols, dst, at);
        }
    }

    private static void widenF32(MemorySegment w, long row, int cols, float[] dst, int at) {
        MemorySegment.copy(w, VectorKernels.F32_LE, row, dst, at, cols);
    }

    /** As in {@link VectorKernels#dotF16}, repeated here so no vector crosses a call. */
    private static void widenF16(MemorySegment w, long row, int cols, float[] dst, int at) {
        for (int k = 0; k < cols; k += L) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S_HALF, w, row + 2L * k, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector f = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
            f.reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats().intoArray(dst, at + k);
        }
    }

    private static void widenQ8_0(MemorySegment w, long row, int cols, float[] dst, int at) {
        for (int k = 0; k < cols; k += L) {
            long block = row + 34L * (k >> 5);
            float scale = Float.float16ToFloat(w.get(I16_LE, block));
            IntVector q = (IntVector) ByteVector.fromMemorySegment(B_QUARTER, w, block + 2 + (k & 31), LE)
                    .convertShape(VectorOperators.B2I, I, 0);
            ((FloatVector) q.convertShape(VectorOperators.I2F, F, 0)).mul(scale).intoArray(dst, at + k);
        }
    }

    /** Element j of a block is byte j's low nibble for j < 16 and byte (j - 16)'s high nibble after. */
    private static void widenQ4_0(MemorySegment w, long row, int cols, float[] dst, int at) {
        for (int k = 0; k < cols; k += L) {
            long block = row + 18L * (k >> 5);
            float scale = Float.float16ToFloat(w.get(I16_LE, block));
            int inBlock = k & 31;
            ByteVector packed = ByteVector.fromMemorySegment(B_QUARTER, w, block + 2 + (inBlock & 15), LE);
            ByteVector nibbles = inBlock < 16 ? packed.and((byte) 0x0F) : packed.lanewise(VectorOperators.LSHR, 4);
            IntVector q = (IntVector) nibbles.sub((byte) 8).convertShape(VectorOperators.B2I, I, 0);
            ((FloatVector) q.convertShape(VectorOperators.I2F, F, 0)).mul(scale).intoArray(dst, at + k);
        }
    }

    /**
     * dequantize_row_q4_K with vectors: per 32-value sub-block, d*scale times the nibble less dmin*min, multiplied
     * and subtracted separately (no fma) so the values are bit-identical to ggml's and {@link Tensor#dequantize}.
     */
    private static void widenQ4_K(MemorySegment w, long row, int cols, float[] dst, int at) {
        for (int b = 0; b < cols / 256; b++) {
            long base = row + 144L * b;
            float d = Float.float16ToFloat(w.get(I16_LE, base)), dmin = Float.float16ToFloat(w.get(I16_LE, base + 2));
            int y = at + b * 256;
            for (int c = 0; c < 4; c++) {
                float d1 = d * KQuants.scaleOrMin(w, base + 4, 2 * c), m1 = dmin * KQuants.scaleOrMin(w, base + 4, 8 + 2 * c);
                float d2 = d * KQuants.scaleOrMin(w, base + 4, 2 * c + 1), m2 = dmin * KQuants.scaleOrMin(w, base + 4, 9 + 2 * c);
                long qs = base + 16 + 32L * c;
                for (int j = 0; j < 32; j += L) {
                    ByteVector packed = ByteVector.fromMemorySegment(B_QUARTER, w, qs + j, LE);
                    IntVector lo = (IntVector) packed.and((byte) 0x0F).convertShape(VectorOperators.B2I, I, 0);
                    IntVector hi = (IntVector) packed.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2I, I, 0);
                    ((FloatVector) lo.convertShape(VectorOperators.I2F, F, 0)).mul(d1).sub(m1).intoArray(dst, y + 64 * c + j);
                    ((FloatVector) hi.convertShape(VectorOperators.I2F, F, 0)).mul(d2).sub(m2).intoArray(dst, y + 64 * c + 32 + j);
                }
            }
        }
    }

    /** dequantize_row_q5_K with vectors: as Q4_K, bit 2c (low sub-block) or 2c + 1 (high) of qh[l] adding 16. */
    private static void widenQ5_K(MemorySegment w, long row, int cols, float[] dst, int at) {
        for (int b = 0; b < cols / 256; b++) {
            long base = row + 176L * b, qh = base + 16, qs = base + 48;
            float d = Float.float16ToFloat(w.get(I16_LE, base)), dmin = Float.float16ToFloat(w.get(I16_LE, base + 2));
            int y = at + b * 256;
            for (int c = 0; c < 4; c++) {
                float d1 = d * KQuants.scaleOrMin(w, base + 4, 2 * c), m1 = dmin * KQuants.scaleOrMin(w, base + 4, 8 + 2 * c);
                float d2 = d * KQuants.scaleOrMin(w, base + 4, 2 * c + 1), m2 = dmin * KQuants.scaleOrMin(w, base + 4, 9 + 2 * c);
                for (int j = 0; j < 32; j += L) {
                    ByteVector packed = ByteVector.fromMemorySegment(B_QUARTER, w, qs + 32L * c + j, LE);
                    ByteVector high = ByteVector.fromMemorySegment(B_QUARTER, w, qh + j, LE);
                    ByteVector lo = packed.and((byte) 0x0F).or(high.lanewise(VectorOperators.LSHR, 2 * c).and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                    ByteVector hi = packed.lanewise(VectorOperators.LSHR, 4).or(high.lanewise(VectorOperators.LSHR, 2 * c + 1).and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                    IntVector qlo = (IntVector) lo.convertShape(VectorOperators.B2I, I, 0);
                    IntVector qhi = (IntVector) hi.convertShape(VectorOperators.B2I, I, 0);
                    ((FloatVector) qlo.convertShape(VectorOperators.I2F, F, 0)).mul(d1).sub(m1).intoArray(dst, y + 64 * c + j);
                    ((FloatVector) qhi.convertShape(VectorOperators.I2F, F, 0)).mul(d2).sub(m2).intoArray(dst, y + 64 * c + 32 + j);
                }
            }
        }
    }

    /**
     * dequantize_row_q6_K with vectors: element e of a 256-value block is (low nibble | two high bits << 4) - 32,
     * times d * scale[e / 16], multiplied in that order so the values are bit-identical to {@link KQuants#q6}'s.
     */
    private static void widenQ6_K(MemorySegment w, long row, int cols, float[] dst, int at) {
        for (int b = 0; b < cols / 256; b++) {
            long base = row + 210L * b;
            float d = Float.float16ToFloat(w.get(I16_LE, base + 208));
            for (int half = 0; half < 2; half++) {
                for (int quarter = 0; quarter < 4; quarter++) {
                    for (int l = 0; l < 32; l += L) {
                        int e = 128 * half + 32 * quarter + l;
                        ByteVector low = ByteVector.fromMemorySegment(B_QUARTER, w, base + 64L * half + l + (quarter & 1) * 32, LE);
                        ByteVector low4 = quarter < 2 ? low.and((byte) 0x0F) : low.lanewise(VectorOperators.LSHR, 4);
                        ByteVector high2 = ByteVector.fromMemorySegment(B_QUARTER, w, base + 128 + 32L * half + l, LE)
                                .lanewise(VectorOperators.LSHR, 2 * quarter).and((byte) 3).lanewise(VectorOperators.LSHL, 4);
                        IntVector q = (IntVector) low4.or(high2).sub((byte) 32).convertShape(VectorOperators.B2I, I, 0);
                        float factor = d * w.get(ValueLayout.JAVA_BYTE, base + 192 + e / 16);
                        ((FloatVector) q.convertShape(VectorOperators.I2F, F, 0)).mul(factor).intoArray(dst, at + b * 256 + e);
                    }
                }
            }
        }
    }
}
