package dev.longbow.backend.cpu;

import dev.longbow.tensor.CompressedLayout;
import dev.longbow.tensor.WeightType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Decode dot products for Longbow's compressed weights ({@link CompressedLayout}): INT8 rows against float or
 * int8 activations, and 2:4 sparse rows (F16 or INT8 kept values) against float activations. Each has a scalar
 * reference beside it (the {@code reference*} methods, which {@link CpuOps} runs with reference kernels) and the
 * same rules as {@link VectorKernels}: self-contained, lanes summed in the fixed pairwise order, constant layouts.
 * <p>The 2:4 kernels never expand the weights: per 2L columns (two activation vectors) they load L kept values and
 * the 2L bits of their positions, turn the bits into lane indices with one variable shift, and pick the L matching
 * activations with two in-register permutes and a blend. What is read from memory is the compressed row alone.
 */
final class CompressedKernels {
    private CompressedKernels() {}

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    private static final VectorSpecies<Float> F = VectorKernels.F;
    private static final int L = F.length();
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S_HALF = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Short> S_FULL = VectorSpecies.of(short.class, F.vectorShape());
    private static final VectorSpecies<Byte> B_HALF = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Byte> B_QUARTER = VectorKernels.SUPPORTED ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4)) : null;
    /** The 2:4 kernels read a step's index bits as one int (16 lanes) or one short (8 lanes). */
    static final boolean SPARSE_SUPPORTED = VectorKernels.SUPPORTED && (L == 8 || L == 16);
    private static final boolean INT_INDEX = L == 16;
    private static final float HALF_EXPONENT_ADJUST = 0x1p112f;

    /** Lane k's 2-bit index sits at bit 2k of the step's index word. */
    private static final IntVector SHIFTS = IntVector.fromArray(I, lanes(k -> 2 * k), 0);
    /**
     * Lane k belongs to group k / 2, whose 4 columns start at 4 * (k / 2) of the two activation vectors taken as one
     * table of 2L lanes: one two-table permute ({@code selectFrom(x0, x1)}, vpermt2d) picks the kept columns, where two
     * permutes and a blend did before.
     */
    private static final IntVector GROUP_STARTS = IntVector.fromArray(I, lanes(k -> 4 * (k / 2)), 0);

    private static final VectorShuffle<Float> ROTATE_1 = rotation(L / 2);
    private static final VectorShuffle<Float> ROTATE_2 = rotation(L / 4);
    private static final VectorShuffle<Float> ROTATE_3 = rotation(L / 8);
    private static final VectorShuffle<Float> ROTATE_4 = rotation(L / 16);
    private static final boolean AT_LEAST_8_LANES = L >= 8, AT_LEAST_16_LANES = L >= 16;

    private static VectorShuffle<Float> rotation(int by) {
        return by == 0 ? null : VectorShuffle.fromOp(F, i -> (i + by) % L);
    }

    private static int[] lanes(java.util.function.IntUnaryOperator f) {
        int[] a = new int[L];
        for (int k = 0; k < L; k++) a[k] = f.applyAsInt(k);
        return a;
    }

    // ---- INT8 rows ----

    /** Sum of q[j] * x[j] over int8 weights and float activations (the caller applies the row scale). */
    static float dotI8(MemorySegment w, long offset, float[] x, int xo, int n) {
        int i = 0;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        for (; i + 2 * L <= n; i += 2 * L) {
            FloatVector f0 = (FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, offset + i, LE).convertShape(VectorOperators.B2F, F, 0);
            FloatVector f1 = (FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, offset + i + L, LE).convertShape(VectorOperators.B2F, F, 0);
            a0 = f0.fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = f1.fma(FloatVector.fromArray(F, x, xo + i + L), a1);
        }
        FloatVector acc = a0.add(a1);
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        return i8Tail(acc.lane(0), w, offset, x, xo, i, n); // sum(acc), written out
    }

    /**
     * {@link #dotI8} for four rows {@code stride} bytes apart into out[oi + k * outStride], each row's arithmetic
     * exactly dotI8's (bit-identical). Decode calls it with rows a quarter of the matrix apart: four distant streams
     * read together keep more of DRAM busy than one row after another (VectorKernels.dotQ8_0x4).
     */
    static void dotI8x4(MemorySegment w, long offset, long stride, float[] x, int xo, int n, float[] out, int oi, int outStride) {
        int i = 0;
        long o0 = offset + 0 * stride;
        long o1 = offset + 1 * stride;
        long o2 = offset + 2 * stride;
        long o3 = offset + 3 * stride;
        FloatVector a00 = FloatVector.zero(F), a10 = a00;
        FloatVector a01 = FloatVector.zero(F), a11 = a01;
        FloatVector a02 = FloatVector.zero(F), a12 = a02;
        FloatVector a03 = FloatVector.zero(F), a13 = a03;
        for (; i + 2 * L <= n; i += 2 * L) {
            FloatVector x0 = FloatVector.fromArray(F, x, xo + i), x1 = FloatVector.fromArray(F, x, xo + i + L);
            a00 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o0 + i, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x0, a00);
            a01 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o1 + i, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x0, a01);
            a02 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o2 + i, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x0, a02);
            a03 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o3 + i, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x0, a03);
            a10 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o0 + i + L, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x1, a10);
            a11 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o1 + i + L, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x1, a11);
            a12 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o2 + i + L, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x1, a12);
            a13 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o3 + i + L, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x1, a13);
        }
        FloatVector s0 = a00.add(a10);
        s0 = s0.add(s0.rearrange(ROTATE_1));
        s0 = s0.add(s0.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) s0 = s0.add(s0.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) s0 = s0.add(s0.rearrange(ROTATE_4));
        out[oi + 0 * outStride] = i8Tail(s0.lane(0), w, o0, x, xo, i, n);
        FloatVector s1 = a01.add(a11);
        s1 = s1.add(s1.rearrange(ROTATE_1));
        s1 = s1.add(s1.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) s1 = s1.add(s1.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) s1 = s1.add(s1.rearrange(ROTATE_4));
        out[oi + 1 * outStride] = i8Tail(s1.lane(0), w, o1, x, xo, i, n);
        FloatVector s2 = a02.add(a12);
        s2 = s2.add(s2.rearrange(ROTATE_1));
        s2 = s2.add(s2.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) s2 = s2.add(s2.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) s2 = s2.add(s2.rearrange(ROTATE_4));
        out[oi + 2 * outStride] = i8Tail(s2.lane(0), w, o2, x, xo, i, n);
        FloatVector s3 = a03.add(a13);
        s3 = s3.add(s3.rearrange(ROTATE_1));
        s3 = s3.add(s3.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) s3 = s3.add(s3.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) s3 = s3.add(s3.rearrange(ROTATE_4));
        out[oi + 3 * outStride] = i8Tail(s3.lane(0), w, o3, x, xo, i, n);
    }

    /** sum plus the scalar tail of an int8 row from column i, as dotI8 adds it. */
    private static float i8Tail(float sum, MemorySegment w, long offset, float[] x, int xo, int i, int n) {
        for (; i < n; i++) sum += w.get(ValueLayout.JAVA_BYTE, offset + i) * x[xo + i];
        return sum;
    }

    /**
     * Sum of q[j] * a[j] over int8 weights and int8 activations, exact in int: products fit a short, two of them
     * still do (2 * 127 * 127 < 32768), and the int lanes are added in any order without changing the result.
     */
    static int dotI8I8(MemorySegment w, long offset, byte[] a, int ao, int n) {
        int step = S_FULL.length(), i = 0;
        IntVector isum = IntVector.zero(I);
        for (; i + step <= n; i += step) {
            ShortVector wv = (ShortVector) ByteVector.fromMemorySegment(B_HALF, w, offset + i, LE).convertShape(VectorOperators.B2S, S_FULL, 0);
            ShortVector av = (ShortVector) ByteVector.fromArray(B_HALF, a, ao + i).convertShape(VectorOperators.B2S, S_FULL, 0);
            ShortVector p = wv.mul(av);
            isum = isum.add(p.convertShape(VectorOperators.S2I, I, 0)).add(p.convertShape(VectorOperators.S2I, I, 1));
        }
        int sum = isum.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += w.get(ValueLayout.JAVA_BYTE, offset + i) * a[ao + i];
        return sum;
    }

    // ---- 2:4 rows ----

    /**
     * 2:4 row with F16 kept values at {@code values} and index bits at {@code index}, against float activations of
     * {@code n} columns (a multiple of 4).
     */
    static float dotS24F16(MemorySegment w, long values, long index, float[] x, int xo, int n) {
        int i = 0;
        FloatVector acc = FloatVector.zero(F);
        for (; i + 2 * L <= n; i += 2 * L) {
            int bits = INT_INDEX ? w.get(I32_LE, index + i / 8) : w.get(I16_LE, index + i / 8) & 0xFFFF;
            IntVector pick = IntVector.broadcast(I, bits).lanewise(VectorOperators.LSHR, SHIFTS).and(3).add(GROUP_STARTS);
            IntVector x0 = FloatVector.fromArray(F, x, xo + i).reinterpretAsInts(), x1 = FloatVector.fromArray(F, x, xo + i + L).reinterpretAsInts();
            FloatVector picked = pick.selectFrom(x0, x1).reinterpretAsFloats();
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S_HALF, w, values + i, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector f = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(HALF_EXPONENT_ADJUST);
            f = f.reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            acc = f.fma(picked, acc);
        }
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        float sum = acc.lane(0); // sum(acc), written out
        for (int g = i / 4; g < n / 4; g++) {
            int nibble = (w.get(ValueLayout.JAVA_BYTE, index + g / 2) >> (4 * (g & 1))) & 0xF;
            sum += Float.float16ToFloat(w.get(I16_LE, values + 4L * g)) * x[xo + 4 * g + (nibble & 3)];
            sum += Float.float16ToFloat(w.get(I16_LE, values + 4L * g + 2)) * x[xo + 4 * g + (nibble >> 2)];
        }
        return sum;
    }

    /** As {@link #dotS24F16} with int8 kept values; the caller applies the row scale. */
    static float dotS24I8(MemorySegment w, long values, long index, float[] x, int xo, int n) {
        int i = 0;
        FloatVector acc = FloatVector.zero(F), acc2 = FloatVector.zero(F);
        // Two steps an iteration into two sums: one chain of multiply-adds would wait on its own latency.
        for (; i + 4 * L <= n; i += 4 * L) {
            int bits = INT_INDEX ? w.get(I32_LE, index + i / 8) : w.get(I16_LE, index + i / 8) & 0xFFFF;
            IntVector pick = IntVector.broadcast(I, bits).lanewise(VectorOperators.LSHR, SHIFTS).and(3).add(GROUP_STARTS);
            IntVector x0 = FloatVector.fromArray(F, x, xo + i).reinterpretAsInts(), x1 = FloatVector.fromArray(F, x, xo + i + L).reinterpretAsInts();
            FloatVector picked = pick.selectFrom(x0, x1).reinterpretAsFloats();
            FloatVector f = (FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, values + i / 2, LE).convertShape(VectorOperators.B2F, F, 0);
            acc = f.fma(picked, acc);
            int j = i + 2 * L;
            int bits2 = INT_INDEX ? w.get(I32_LE, index + j / 8) : w.get(I16_LE, index + j / 8) & 0xFFFF;
            IntVector pick2 = IntVector.broadcast(I, bits2).lanewise(VectorOperators.LSHR, SHIFTS).and(3).add(GROUP_STARTS);
            IntVector y0 = FloatVector.fromArray(F, x, xo + j).reinterpretAsInts(), y1 = FloatVector.fromArray(F, x, xo + j + L).reinterpretAsInts();
            FloatVector picked2 = pick2.selectFrom(y0, y1).reinterpretAsFloats();
            FloatVector f2 = (FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, values + j / 2, LE).convertShape(VectorOperators.B2F, F, 0);
            acc2 = f2.fma(picked2, acc2);
        }
        acc = acc.add(acc2);
        for (; i + 2 * L <= n; i += 2 * L) {
            int bits = INT_INDEX ? w.get(I32_LE, index + i / 8) : w.get(I16_LE, index + i / 8) & 0xFFFF;
            IntVector pick = IntVector.broadcast(I, bits).lanewise(VectorOperators.LSHR, SHIFTS).and(3).add(GROUP_STARTS);
            IntVector x0 = FloatVector.fromArray(F, x, xo + i).reinterpretAsInts(), x1 = FloatVector.fromArray(F, x, xo + i + L).reinterpretAsInts();
            FloatVector picked = pick.selectFrom(x0, x1).reinterpretAsFloats();
            FloatVector f = (FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, values + i / 2, LE).convertShape(VectorOperators.B2F, F, 0);
            acc = f.fma(picked, acc);
        }
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        return s24Tail(acc.lane(0), w, values, index, x, xo, i, n); // sum(acc), written out
    }

    /** With 512-bit vectors, 2:4 INT8 decode runs in short lanes against int8 activations ({@link #dotS24I8Q8K}). */
    static final boolean S24_I8_SHORT_LANES = F.vectorBitSize() == 512;
    private static final VectorSpecies<Long> LONGS = VectorSpecies.of(long.class, F.vectorShape());
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    /** Short lane k's 2-bit position is in 16-bit word k / 8 of a step's 64 index bits, at bit 2 * (k % 8). */
    private static final VectorShuffle<Short> INDEX_WORD_OF_LANE = S24_I8_SHORT_LANES ? VectorShuffle.fromOp(S_FULL, k -> k / 8) : null;
    private static final ShortVector INDEX_SHIFT = S24_I8_SHORT_LANES ? shortLanes(k -> 2 * (k % 8)) : null;
    /** Lane k's group of 4 columns starts at 4 * (k / 2) of the step's 64 activations, two tables of 32. */
    private static final ShortVector GROUP_START = S24_I8_SHORT_LANES ? shortLanes(k -> 4 * (k / 2)) : null;

    private static ShortVector shortLanes(java.util.function.IntUnaryOperator f) {
        short[] a = new short[S_FULL.length()];
        for (int k = 0; k < a.length; k++) a[k] = (short) f.applyAsInt(k);
        return ShortVector.fromArray(S_FULL, a, 0);
    }

    /**
     * A 2:4 INT8 row against activations quantized to Q8_K (int8 values, one scale per 256: {@link Q8KActivations}),
     * for n a multiple of 256; the caller applies the row scale. Per step of 64 columns: the 64 index bits broadcast
     * as one long, each short lane's 2 bits shifted down in place, and the 32 kept activations picked from the
     * step's 64 with one two-table permute (vpermt2w); kept weights times activations in short lanes, adjacent pairs
     * into int lanes (2 * 127 * 127 fits a short), summed as exact integers over 256 columns and scaled once. Twice
     * the columns per permute of {@link #dotS24I8}, and a float conversion per 256 columns instead of per 32: one core
     * reads 26.0 GB/s from cache (15.1 for dotS24I8), 23.6 from DRAM (13.7).
     */
    static float dotS24I8Q8K(MemorySegment w, long values, long index, byte[] q, int qo, float[] scales, int so, int n) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < n / 256; b++) {
            IntVector isum = IntVector.zero(I);
            for (int i = 256 * b; i < 256 * b + 256; i += 64) {
                ShortVector pick = LongVector.broadcast(LONGS, w.get(I64_LE, index + i / 8)).reinterpretAsShorts().rearrange(INDEX_WORD_OF_LANE)
                        .lanewise(VectorOperators.LSHR, INDEX_SHIFT).and((short) 3).or(GROUP_START);
                ShortVector x0 = (ShortVector) ByteVector.fromArray(B_HALF, q, qo + i).convertShape(VectorOperators.B2S, S_FULL, 0);
                ShortVector x1 = (ShortVector) ByteVector.fromArray(B_HALF, q, qo + i + 32).convertShape(VectorOperators.B2S, S_FULL, 0);
                IntVector p = ((ShortVector) ByteVector.fromMemorySegment(B_HALF, w, values + i / 2, LE).convertShape(VectorOperators.B2S, S_FULL, 0))
                        .mul(pick.selectFrom(x0, x1)).reinterpretAsInts();
                isum = p.add(p.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).add(isum);
            }
            acc = ((FloatVector) isum.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, scales[so + b]), acc);
        }
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        acc = acc.add(acc.rearrange(ROTATE_3));
        acc = acc.add(acc.rearrange(ROTATE_4));
        return acc.lane(0); // sum(acc), written out
    }

    /** sum plus the scalar tail of a 2:4 int8 row from column i, as dotS24I8 adds it. */
    private static float s24Tail(float sum, MemorySegment w, long values, long index, float[] x, int xo, int i, int n) {
        for (int g = i / 4; g < n / 4; g++) {
            int nibble = (w.get(ValueLayout.JAVA_BYTE, index + g / 2) >> (4 * (g & 1))) & 0xF;
            sum += w.get(ValueLayout.JAVA_BYTE, values + 2L * g) * x[xo + 4 * g + (nibble & 3)];
            sum += w.get(ValueLayout.JAVA_BYTE, values + 2L * g + 1) * x[xo + 4 * g + (nibble >> 2)];
        }
        return sum;
    }

    // ---- scalar references ----

    /**
     * Row {@code r} of a compressed tensor dotted with activations, in plain scalar code over the decompressed row
     * ({@link CompressedLayout#dequantizeRow}), column order: the reference each kernel above is tested against.
     * W8A8 rows take the int8 activations and their scale instead of x.
     */
    static float reference(WeightType t, MemorySegment data, int rows, int cols, int r, float[] row, float[] x, int xo) {
        CompressedLayout.dequantizeRow(t, data, rows, cols, r, row, 0);
        float sum = 0;
        for (int j = 0; j < cols; j++) sum += row[j] * x[xo + j];
        return sum;
    }

    /**
     * A 2:4 INT8 row (row scale included) against Q8_K activations in plain scalar code: exact integer sums per 256
     * columns, times the activation scale, summed in float: the arithmetic {@link #dotS24I8Q8K} does in lanes.
     */
    static float referenceS24I8Q8K(MemorySegment data, int rows, int cols, int r, byte[] q, int qo, float[] scales, int so) {
        long values = CompressedLayout.valuesOffset(WeightType.S24_I8, cols, r), index = CompressedLayout.indexOffset(WeightType.S24_I8, rows, cols, r);
        float sum = 0;
        for (int b = 0; b < cols / 256; b++) {
            int isum = 0;
            for (int g = 64 * b; g < 64 * b + 64; g++) {
                int nibble = (data.get(ValueLayout.JAVA_BYTE, index + g / 2) >> (4 * (g & 1))) & 0xF;
                isum += data.get(ValueLayout.JAVA_BYTE, values + 2L * g) * q[qo + 4 * g + (nibble & 3)]
                        + data.get(ValueLayout.JAVA_BYTE, values + 2L * g + 1) * q[qo + 4 * g + (nibble >> 2)];
            }
            sum += isum * scales[so + b];
        }
        return sum * CompressedLayout.scale(data, WeightType.S24_I8, rows, cols, r);
    }

    static float referenceI8I8(MemorySegment data, int rows, int cols, int r, byte[] a, int ao, float aScale) {
        long v = CompressedLayout.valuesOffset(WeightType.I8_ROW_A8, cols, r);
        int sum = 0;
        for (int j = 0; j < cols; j++) sum += data.get(ValueLayout.JAVA_BYTE, v + j) * a[ao + j];
        return sum * CompressedLayout.scale(data, WeightType.I8_ROW_A8, rows, cols, r) * aScale;
    }
}
