package dev.longbow.backend.cpu;

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
 * Matrix-matrix products for prefill. Four weight rows at a time are widened to float once into a small panel
 * (it stays in L1), then every group of four tokens runs a 4x4 tile over it with the 16 running sums in registers:
 * each weight is decoded once per prompt chunk instead of once per token, and each loaded value feeds four
 * multiply-adds. Quantized weights meet activations already rounded to what the integer decode path sees (Q8_0
 * blocks, or F16 for F16 weights), so a prompt and the same tokens decoded one by one agree to float rounding.
 * Decode (one token) stays on {@link VectorKernels}, where memory, not arithmetic, is the limit.
 * <p>Each method is self-contained on purpose: a vector passed to or returned from a call the JIT does not inline
 * becomes a heap object, which costs more than the arithmetic.
 */
final class VectorGemm {
    private VectorGemm() {}

    static final int ROWS = 4, TOKENS = 4;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final VectorSpecies<Float> F = VectorKernels.F;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S_HALF = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Byte> B_QUARTER = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));
    private static final int L = F.length();

    /** Which kind of weight row the panel is widened from. */
    enum Weights { F32, F16, Q8_0, Q4_0 }

    static boolean supports(int cols, Weights kind) {
        return cols % L == 0 && (kind == Weights.F32 || kind == Weights.F16 || cols % 32 == 0) && L <= 16;
    }

    /** Floats of scratch {@link #rows} needs: one panel of {@link #ROWS} rows of {@code cols}. */
    static int scratchLength(int cols) {
        return ROWS * cols;
    }

    /** Floats of the tile's partial sums. */
    static final int SUMS_LENGTH = ROWS * TOKENS * 16;

    /**
     * Rows [r0, r0 + rows) of w (rows at most 4, {@code rowBytes} apart) times activation rows x[xOffset + t * cols]
     * for t in [0, n), into out[outOffset + t * outStride + r]. {@code scratch} holds at least {@link #scratchLength} floats.
     */
    static void rows(Weights kind, MemorySegment w, long rowBytes, int r0, int rows, float[] x, int xOffset, int n, int cols,
                     float[] out, int outOffset, int outStride, float[] scratch, float[] sums) {
        for (int r = 0; r < ROWS; r++) {
            long row = (long) (r0 + Math.min(r, rows - 1)) * rowBytes; // a short group repeats its last row
            switch (kind) {
                case F32 -> widenF32(w, row, cols, scratch, r * cols);
                case F16 -> widenF16(w, row, cols, scratch, r * cols);
                case Q8_0 -> widenQ8_0(w, row, cols, scratch, r * cols);
                case Q4_0 -> widenQ4_0(w, row, cols, scratch, r * cols);
            }
        }
        for (int t0 = 0; t0 < n; t0 += TOKENS) {
            tile(scratch, x, xOffset, t0, Math.min(TOKENS, n - t0), cols, rows, out, outOffset + t0 * outStride + r0, outStride,
                    sums);
        }
    }

    /**
     * The 4x4 tile: out[outAt + t * outStride + r] = panel row r · x[t0 + t] for r < rows, t < tokens. Short token
     * groups repeat their last token and drop its sums.
     */
    private static void tile(float[] panel, float[] x, int xOffset, int t0, int tokens, int cols, int rows,
                             float[] out, int outAt, int outStride, float[] sums) {
        int x0 = xOffset + t0 * cols, x1 = xOffset + (t0 + Math.min(1, tokens - 1)) * cols,
                x2 = xOffset + (t0 + Math.min(2, tokens - 1)) * cols, x3 = xOffset + (t0 + Math.min(3, tokens - 1)) * cols;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00,
                a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int k = 0; k < cols; k += L) {
            FloatVector w0 = FloatVector.fromArray(F, panel, k), w1 = FloatVector.fromArray(F, panel, cols + k),
                    w2 = FloatVector.fromArray(F, panel, 2 * cols + k), w3 = FloatVector.fromArray(F, panel, 3 * cols + k);
            FloatVector v = FloatVector.fromArray(F, x, x0 + k);
            a00 = w0.fma(v, a00);
            a10 = w1.fma(v, a10);
            a20 = w2.fma(v, a20);
            a30 = w3.fma(v, a30);
            v = FloatVector.fromArray(F, x, x1 + k);
            a01 = w0.fma(v, a01);
            a11 = w1.fma(v, a11);
            a21 = w2.fma(v, a21);
            a31 = w3.fma(v, a31);
            v = FloatVector.fromArray(F, x, x2 + k);
            a02 = w0.fma(v, a02);
            a12 = w1.fma(v, a12);
            a22 = w2.fma(v, a22);
            a32 = w3.fma(v, a32);
            v = FloatVector.fromArray(F, x, x3 + k);
            a03 = w0.fma(v, a03);
            a13 = w1.fma(v, a13);
            a23 = w2.fma(v, a23);
            a33 = w3.fma(v, a33);
        }
        // Partial sums leave through memory and are added up in scalar code: a fixed order whatever the JIT has or
        // has not compiled yet, and no vector crosses a call.
        float[] lanes = sums;
        a00.intoArray(lanes, 0);
        a10.intoArray(lanes, L);
        a20.intoArray(lanes, 2 * L);
        a30.intoArray(lanes, 3 * L);
        a01.intoArray(lanes, 4 * L);
        a11.intoArray(lanes, 5 * L);
        a21.intoArray(lanes, 6 * L);
        a31.intoArray(lanes, 7 * L);
        a02.intoArray(lanes, 8 * L);
        a12.intoArray(lanes, 9 * L);
        a22.intoArray(lanes, 10 * L);
        a32.intoArray(lanes, 11 * L);
        a03.intoArray(lanes, 12 * L);
        a13.intoArray(lanes, 13 * L);
        a23.intoArray(lanes, 14 * L);
        a33.intoArray(lanes, 15 * L);
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < rows; r++) out[outAt + t * outStride + r] = laneSum(lanes, (t * ROWS + r) * L);
        }
    }

    /** The L lanes at a[off..] summed pairwise (lane i with lane i + L/2, and so on), as {@link VectorKernels#sum} does. */
    private static float laneSum(float[] a, int off) {
        for (int half = L / 2; half >= 1; half /= 2) {
            for (int i = 0; i < half; i++) a[off + i] += a[off + i + half];
        }
        return a[off];
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

    /** Writes the values Q8_0-quantized activations stand for (q * scale) as floats, row by row. */
    static void dequantizeActivations(Q8Activations q8, int n, int cols, float[] dst) {
        byte[] q = q8.values();
        float[] s = q8.scales();
        int blocks = cols / 32;
        for (int t = 0; t < n; t++) {
            int qo = q8.valueOffset(t), so = q8.scaleOffset(t);
            for (int b = 0; b < blocks; b++) {
                float scale = s[so + b];
                for (int j = 0; j < 32; j++) dst[t * cols + b * 32 + j] = q[qo + b * 32 + j] * scale;
            }
        }
    }
}
