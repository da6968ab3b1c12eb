package dev.longbow.backend.cpu;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Dot products of one weight row, read in place from its mapped file, with activations on the heap: the inner loop of
 * every matrix-vector product. Written with the Vector API at the widest width the CPU has; each sums in vector lanes
 * and reduces once per row, so results differ from {@link CpuOps}'s reference order by float rounding only. The
 * K-quant kernels are {@link KQuantKernels}.
 */
final class VectorKernels {
    private VectorKernels() {}

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    // Layouts are constants on purpose: one built per access costs an allocation and a cache lookup every time.
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** As many shorts as F has floats, and half that many bytes: one conversion step each way. */
    private static final VectorSpecies<Short> S_HALF = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    /**
     * Whether this CPU's vectors are wide enough for these kernels (256 bits or more: AVX2, AVX-512). A quarter of a
     * 128-bit vector (NEON) is no Vector API shape, so there CpuOps falls back to the reference kernels.
     */
    static final boolean SUPPORTED = F.vectorBitSize() >= 256;
    private static final VectorSpecies<Byte> B_QUARTER = SUPPORTED ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4)) : null;
    /** 2^112: rescales a half-precision exponent placed in a float's exponent field. */
    private static final float HALF_EXPONENT_ADJUST = 0x1p112f;

    // Rotations by L/2, L/4, L/8, L/16 lanes (static finals, so the JIT sees constant shuffles).
    static final VectorShuffle<Float> ROTATE_1 = rotation(F.length() / 2);
    static final VectorShuffle<Float> ROTATE_2 = rotation(F.length() / 4);
    static final VectorShuffle<Float> ROTATE_3 = rotation(F.length() / 8);
    static final VectorShuffle<Float> ROTATE_4 = rotation(F.length() / 16);

    private static VectorShuffle<Float> rotation(int by) {
        return by == 0 ? null : VectorShuffle.fromOp(F, i -> (i + by) % F.length());
    }

    /**
     * The sum of v's lanes in a fixed pairwise order: lane i plus lane i + L/2, then + L/4, and so on. Not
     * {@code reduceLanes}: its order differs between the JIT's intrinsic and the interpreter's fallback, so a result
     * would change when a kernel gets compiled mid-run and the same prompt could decode differently from one run to
     * the next. The hot kernels below write these steps out rather than call this: a vector handed to a call the JIT
     * does not inline (inlining depth runs out fast under the Vector API's own layers) becomes a heap object.
     */
    static float sum(FloatVector v) {
        v = v.add(v.rearrange(ROTATE_1));
        v = v.add(v.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) v = v.add(v.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) v = v.add(v.rearrange(ROTATE_4));
        return v.lane(0);
    }

    static final boolean AT_LEAST_8_LANES = F.length() >= 8, AT_LEAST_16_LANES = F.length() >= 16;
    /**
     * Eight floats: a head of 8 or 24 dimensions (tiny models) would leave a 16-lane vector unused and run the scalar
     * tail alone, so rows shorter than F's width go through this width instead.
     */
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final boolean NARROW_HELPS = F.length() > 8;
    private static final VectorShuffle<Float> NARROW_1 = VectorShuffle.fromOp(F8, i -> (i + 4) % 8);
    private static final VectorShuffle<Float> NARROW_2 = VectorShuffle.fromOp(F8, i -> (i + 2) % 8);
    private static final VectorShuffle<Float> NARROW_3 = VectorShuffle.fromOp(F8, i -> (i + 1) % 8);

    static float dotF32(MemorySegment w, long offset, float[] x, int xo, int n) {
        int L = F.length(), i = 0;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        for (; i + 2 * L <= n; i += 2 * L) {
            a0 = FloatVector.fromMemorySegment(F, w, offset + 4L * i, LE).fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = FloatVector.fromMemorySegment(F, w, offset + 4L * (i + L), LE).fma(FloatVector.fromArray(F, x, xo + i + L), a1);
        }
        FloatVector acc = a0.add(a1);
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        float sum = acc.lane(0); // sum(acc), written out
        for (; i < n; i++) sum += w.get(F32_LE, offset + 4L * i) * x[xo + i];
        return sum;
    }

    /**
     * Half-precision weights widened exactly in registers: the magnitude bits moved into a float's place and rescaled
     * by 2^112 (exact for normal and subnormal halves alike), the sign OR-ed back. Self-contained, like every kernel
     * here: a vector handed to a call the JIT does not inline becomes a heap object.
     */
    static float dotF16(MemorySegment w, long offset, float[] x, int xo, int n) {
        int L = F.length(), i = 0;
        FloatVector acc = FloatVector.zero(F);
        for (; i + L <= n; i += L) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S_HALF, w, offset + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector f = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(HALF_EXPONENT_ADJUST);
            f = f.reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            acc = f.fma(FloatVector.fromArray(F, x, xo + i), acc);
        }
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        float sum = acc.lane(0); // sum(acc), written out
        for (; i < n; i++) sum += Float.float16ToFloat(w.get(I16_LE, offset + 2L * i)) * x[xo + i];
        return sum;
    }

    static float dotBF16(MemorySegment w, long offset, float[] x, int xo, int n) {
        int L = F.length(), i = 0;
        FloatVector acc = FloatVector.zero(F);
        for (; i + L <= n; i += L) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S_HALF, w, offset + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0);
            acc = h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xo + i), acc);
        }
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        float sum = acc.lane(0); // sum(acc), written out
        for (; i < n; i++) sum += Float.intBitsToFloat(w.get(I16_LE, offset + 2L * i) << 16) * x[xo + i];
        return sum;
    }

    /**
     * Q8_0 weights (34-byte blocks: fp16 scale, 32 int8) against Q8_0-quantized activations, given as the floats of
     * their int8 values: integer products within a block, scaled by both block scales and summed in float lanes, as
     * llama.cpp's SIMD kernels do. Products and block sums are integers far below 2^24, so float multiply-adds are
     * exact and each lane holds the integer an int16 multiply and int widening would give, with fewer instructions
     * (the Vector API has no int8 dot product).
     */
    static float dotQ8_0(MemorySegment w, long offset, float[] q, int qo, float[] scales, int so, int blocks) {
        int L = F.length();
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long base = offset + 34L * b;
            int x = qo + 32 * b;
            FloatVector sum = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, base + 2, LE).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromArray(F, q, x));
            for (int j = L; j < 32; j += L) {
                FloatVector wv = (FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, base + 2 + j, LE).convertShape(VectorOperators.B2F, F, 0);
                sum = wv.fma(FloatVector.fromArray(F, q, x + j), sum);
            }
            float scale = Float.float16ToFloat(w.get(I16_LE, base)) * scales[so + b];
            acc = sum.fma(FloatVector.broadcast(F, scale), acc);
        }
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        return acc.lane(0); // sum(acc), written out
    }

    /**
     * {@link #dotQ8_0} for four rows at once, {@code stride} bytes apart, into out[oi + k * outStride]: each row's
     * arithmetic is exactly dotQ8_0's, so the results are bit-identical. Decode calls it with rows a quarter of the
     * matrix apart. Reading four distant streams block by block keeps more of DRAM busy than one row after another
     * (one core from DRAM: 13 GB/s row by row, 21 with four distant streams, 9.5 with four adjacent rows, on the AMD
     * EPYC VM), and the activations are loaded once for four rows.
     */
    static void dotQ8_0x4(MemorySegment w, long offset, long stride, float[] q, int qo, float[] scales, int so, int blocks,
                          float[] out, int oi, int outStride) {
        int L = F.length();
        long o0 = offset, o1 = offset + stride, o2 = offset + 2 * stride, o3 = offset + 3 * stride;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < blocks; b++) {
            long d = 34L * b;
            int x = qo + 32 * b;
            FloatVector x0 = FloatVector.fromArray(F, q, x);
            FloatVector s0 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o0 + d + 2, LE).convertShape(VectorOperators.B2F, F, 0)).mul(x0), s1 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o1 + d + 2, LE).convertShape(VectorOperators.B2F, F, 0)).mul(x0);
            FloatVector s2 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o2 + d + 2, LE).convertShape(VectorOperators.B2F, F, 0)).mul(x0), s3 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o3 + d + 2, LE).convertShape(VectorOperators.B2F, F, 0)).mul(x0);
            for (int j = L; j < 32; j += L) {
                FloatVector xj = FloatVector.fromArray(F, q, x + j);
                s0 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o0 + d + 2 + j, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xj, s0);
                s1 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o1 + d + 2 + j, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xj, s1);
                s2 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o2 + d + 2 + j, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xj, s2);
                s3 = ((FloatVector) ByteVector.fromMemorySegment(B_QUARTER, w, o3 + d + 2 + j, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xj, s3);
            }
            float xs = scales[so + b];
            acc0 = s0.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16_LE, o0 + d)) * xs), acc0);
            acc1 = s1.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16_LE, o1 + d)) * xs), acc1);
            acc2 = s2.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16_LE, o2 + d)) * xs), acc2);
            acc3 = s3.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16_LE, o3 + d)) * xs), acc3);
        }
        // sum(acc) for each, written out: a vector handed to a call the JIT does not inline is allocated.
        acc0 = acc0.add(acc0.rearrange(ROTATE_1));
        acc0 = acc0.add(acc0.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc0 = acc0.add(acc0.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc0 = acc0.add(acc0.rearrange(ROTATE_4));
        acc1 = acc1.add(acc1.rearrange(ROTATE_1));
        acc1 = acc1.add(acc1.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc1 = acc1.add(acc1.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc1 = acc1.add(acc1.rearrange(ROTATE_4));
        acc2 = acc2.add(acc2.rearrange(ROTATE_1));
        acc2 = acc2.add(acc2.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc2 = acc2.add(acc2.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc2 = acc2.add(acc2.rearrange(ROTATE_4));
        acc3 = acc3.add(acc3.rearrange(ROTATE_1));
        acc3 = acc3.add(acc3.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc3 = acc3.add(acc3.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc3 = acc3.add(acc3.rearrange(ROTATE_4));
        out[oi] = acc0.lane(0);
        out[oi + outStride] = acc1.lane(0);
        out[oi + 2 * outStride] = acc2.lane(0);
        out[oi + 3 * outStride] = acc3.lane(0);
    }

    /**
     * Q4_0 weights (18-byte blocks: fp16 scale, 16 bytes of nibbles; element j low, j+16 high) against Q8_0
     * activations given as the floats of their int8 values. As in {@link #dotQ8_0}, a lane's products are integers
     * far below 2^24, so float multiply-adds hold exactly the integer sums llama.cpp's kernels form; nibbles are
     * widened straight to int lanes, where shifts exist (x86 has no byte shifts).
     */
    static float dotQ4_0(MemorySegment w, long offset, float[] q, int qo, float[] scales, int so, int blocks) {
        int L = F.length();
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long base = offset + 18L * b;
            FloatVector sum = FloatVector.zero(F);
            for (int j = 0; j < 16; j += L) {
                IntVector v = (IntVector) ByteVector.fromMemorySegment(B_QUARTER, w, base + 2 + j, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector lo = (FloatVector) v.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0);
                FloatVector hi = (FloatVector) v.lanewise(VectorOperators.LSHR, 4).sub(8).convertShape(VectorOperators.I2F, F, 0);
                sum = hi.fma(FloatVector.fromArray(F, q, qo + b * 32 + 16 + j), lo.fma(FloatVector.fromArray(F, q, qo + b * 32 + j), sum));
            }
            float scale = Float.float16ToFloat(w.get(I16_LE, base)) * scales[so + b];
            acc = sum.fma(FloatVector.broadcast(F, scale), acc);
        }
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        return acc.lane(0); // sum(acc), written out
    }

    /** {@link #dotQ4_0} for four rows {@code stride} bytes apart, as {@link #dotQ8_0x4} is for Q8_0; bit-identical per row. */
    static void dotQ4_0x4(MemorySegment w, long offset, long stride, float[] q, int qo, float[] scales, int so, int blocks,
                          float[] out, int oi, int outStride) {
        int L = F.length();
        long o0 = offset, o1 = offset + stride, o2 = offset + 2 * stride, o3 = offset + 3 * stride;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < blocks; b++) {
            long d = 18L * b;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int j = 0; j < 16; j += L) {
                FloatVector xlo = FloatVector.fromArray(F, q, qo + b * 32 + j), xhi = FloatVector.fromArray(F, q, qo + b * 32 + 16 + j);
                IntVector v0 = (IntVector) ByteVector.fromMemorySegment(B_QUARTER, w, o0 + d + 2 + j, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                s0 = ((FloatVector) v0.lanewise(VectorOperators.LSHR, 4).sub(8).convertShape(VectorOperators.I2F, F, 0))
                        .fma(xhi, ((FloatVector) v0.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0)).fma(xlo, s0));
                IntVector v1 = (IntVector) ByteVector.fromMemorySegment(B_QUARTER, w, o1 + d + 2 + j, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                s1 = ((FloatVector) v1.lanewise(VectorOperators.LSHR, 4).sub(8).convertShape(VectorOperators.I2F, F, 0))
                        .fma(xhi, ((FloatVector) v1.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0)).fma(xlo, s1));
                IntVector v2 = (IntVector) ByteVector.fromMemorySegment(B_QUARTER, w, o2 + d + 2 + j, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                s2 = ((FloatVector) v2.lanewise(VectorOperators.LSHR, 4).sub(8).convertShape(VectorOperators.I2F, F, 0))
                        .fma(xhi, ((FloatVector) v2.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0)).fma(xlo, s2));
                IntVector v3 = (IntVector) ByteVector.fromMemorySegment(B_QUARTER, w, o3 + d + 2 + j, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                s3 = ((FloatVector) v3.lanewise(VectorOperators.LSHR, 4).sub(8).convertShape(VectorOperators.I2F, F, 0))
                        .fma(xhi, ((FloatVector) v3.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0)).fma(xlo, s3));
            }
            float xs = scales[so + b];
            acc0 = s0.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16_LE, o0 + d)) * xs), acc0);
            acc1 = s1.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16_LE, o1 + d)) * xs), acc1);
            acc2 = s2.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16_LE, o2 + d)) * xs), acc2);
            acc3 = s3.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16_LE, o3 + d)) * xs), acc3);
        }
        // sum(acc) for each, written out: a vector handed to a call the JIT does not inline is allocated.
        acc0 = acc0.add(acc0.rearrange(ROTATE_1));
        acc0 = acc0.add(acc0.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc0 = acc0.add(acc0.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc0 = acc0.add(acc0.rearrange(ROTATE_4));
        acc1 = acc1.add(acc1.rearrange(ROTATE_1));
        acc1 = acc1.add(acc1.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc1 = acc1.add(acc1.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc1 = acc1.add(acc1.rearrange(ROTATE_4));
        acc2 = acc2.add(acc2.rearrange(ROTATE_1));
        acc2 = acc2.add(acc2.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc2 = acc2.add(acc2.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc2 = acc2.add(acc2.rearrange(ROTATE_4));
        acc3 = acc3.add(acc3.rearrange(ROTATE_1));
        acc3 = acc3.add(acc3.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc3 = acc3.add(acc3.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc3 = acc3.add(acc3.rearrange(ROTATE_4));
        out[oi] = acc0.lane(0);
        out[oi + outStride] = acc1.lane(0);
        out[oi + 2 * outStride] = acc2.lane(0);
        out[oi + 3 * outStride] = acc3.lane(0);
    }

    /**
     * gate[i] = silu(gate[i]) * up[i] = gate[i] / (1 + exp(-gate[i])) * up[i], with the Vector API's exp (within an
     * ulp or two of Math.exp, not bit for bit: the reference kernels keep Math.exp).
     */
    static void swiglu(float[] gate, int go, float[] up, int uo, int n) {
        int L = F.length(), i = 0;
        for (; i + L <= n; i += L) {
            FloatVector g = FloatVector.fromArray(F, gate, go + i);
            FloatVector sigmoid = g.neg().lanewise(VectorOperators.EXP).add(1f);
            g.div(sigmoid).mul(FloatVector.fromArray(F, up, uo + i)).intoArray(gate, go + i);
        }
        for (; i < n; i++) {
            float val = gate[go + i];
            gate[go + i] = val * (1.0f / (1.0f + (float) Math.exp(-val))) * up[uo + i];
        }
    }

    /** Sum of a[i] * b[i] over heap arrays. */
    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int L = F.length(), i = 0;
        if (NARROW_HELPS && n < L) {
            FloatVector acc = FloatVector.zero(F8);
            for (; i + 8 <= n; i += 8) acc = FloatVector.fromArray(F8, a, ao + i).fma(FloatVector.fromArray(F8, b, bo + i), acc);
            acc = acc.add(acc.rearrange(NARROW_1));
            acc = acc.add(acc.rearrange(NARROW_2));
            acc = acc.add(acc.rearrange(NARROW_3));
            float sum = acc.lane(0); // sum(acc), written out
            for (; i < n; i++) sum += a[ao + i] * b[bo + i];
            return sum;
        }
        FloatVector acc = FloatVector.zero(F);
        for (; i + L <= n; i += L) acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc);
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        float sum = acc.lane(0); // sum(acc), written out
        for (; i < n; i++) sum += a[ao + i] * b[bo + i];
        return sum;
    }

    /** Sum of a[i] * seg[i] for floats stored in native order off the heap (the KV cache). */
    static float dot(float[] a, int ao, MemorySegment seg, long offset, int n) {
        int L = F.length(), i = 0;
        if (NARROW_HELPS && n < L) {
            FloatVector acc = FloatVector.zero(F8);
            for (; i + 8 <= n; i += 8) {
                acc = FloatVector.fromArray(F8, a, ao + i).fma(FloatVector.fromMemorySegment(F8, seg, offset + 4L * i, ByteOrder.nativeOrder()), acc);
            }
            acc = acc.add(acc.rearrange(NARROW_1));
            acc = acc.add(acc.rearrange(NARROW_2));
            acc = acc.add(acc.rearrange(NARROW_3));
            float sum = acc.lane(0); // sum(acc), written out
            for (; i < n; i++) sum += a[ao + i] * seg.get(ValueLayout.JAVA_FLOAT, offset + 4L * i);
            return sum;
        }
        FloatVector acc = FloatVector.zero(F);
        for (; i + L <= n; i += L) {
            acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromMemorySegment(F, seg, offset + 4L * i, ByteOrder.nativeOrder()), acc);
        }
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        float sum = acc.lane(0); // sum(acc), written out
        for (; i < n; i++) sum += a[ao + i] * seg.get(ValueLayout.JAVA_FLOAT, offset + 4L * i);
        return sum;
    }

    /**
     * Scores of 16 rows of n floats {@code stride} bytes apart from {@code offset} against q, into out[oo, oo + 16):
     * each exactly what {@link #dot} gives (the same multiply-adds, lanes added pairwise in the same order), but the 16
     * sums are added across lanes together, a vector holding one partial sum of each, in 15 blend-permute-adds instead
     * of 64 permute-adds. Needs 16-lane vectors and n a multiple of 16 ({@link #dotRows16Fits}).
     */
    static void dotRows16(float[] q, int qo, MemorySegment seg, long offset, long stride, int n, float[] out, int oo) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (int i = 0; i < n; i += 16) {
            FloatVector qv = FloatVector.fromArray(F, q, qo + i);
            long row = offset + 4L * i;
            a0 = qv.fma(FloatVector.fromMemorySegment(F, seg, row, ByteOrder.nativeOrder()), a0);
            a1 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + stride, ByteOrder.nativeOrder()), a1);
            a2 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + 2 * stride, ByteOrder.nativeOrder()), a2);
            a3 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + 3 * stride, ByteOrder.nativeOrder()), a3);
            a4 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + 4 * stride, ByteOrder.nativeOrder()), a4);
            a5 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + 5 * stride, ByteOrder.nativeOrder()), a5);
            a6 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + 6 * stride, ByteOrder.nativeOrder()), a6);
            a7 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + 7 * stride, ByteOrder.nativeOrder()), a7);
            a8 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + 8 * stride, ByteOrder.nativeOrder()), a8);
            a9 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + 9 * stride, ByteOrder.nativeOrder()), a9);
            a10 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + 10 * stride, ByteOrder.nativeOrder()), a10);
            a11 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + 11 * stride, ByteOrder.nativeOrder()), a11);
            a12 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + 12 * stride, ByteOrder.nativeOrder()), a12);
            a13 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + 13 * stride, ByteOrder.nativeOrder()), a13);
            a14 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + 14 * stride, ByteOrder.nativeOrder()), a14);
            a15 = qv.fma(FloatVector.fromMemorySegment(F, seg, row + 15 * stride, ByteOrder.nativeOrder()), a15);
        }
        FloatVector t8_0 = a0.blend(a1, HIGH_8).add(a1.blend(a0, HIGH_8).rearrange(SWAP_8));
        FloatVector t8_1 = a2.blend(a3, HIGH_8).add(a3.blend(a2, HIGH_8).rearrange(SWAP_8));
        FloatVector t8_2 = a4.blend(a5, HIGH_8).add(a5.blend(a4, HIGH_8).rearrange(SWAP_8));
        FloatVector t8_3 = a6.blend(a7, HIGH_8).add(a7.blend(a6, HIGH_8).rearrange(SWAP_8));
        FloatVector t8_4 = a8.blend(a9, HIGH_8).add(a9.blend(a8, HIGH_8).rearrange(SWAP_8));
        FloatVector t8_5 = a10.blend(a11, HIGH_8).add(a11.blend(a10, HIGH_8).rearrange(SWAP_8));
        FloatVector t8_6 = a12.blend(a13, HIGH_8).add(a13.blend(a12, HIGH_8).rearrange(SWAP_8));
        FloatVector t8_7 = a14.blend(a15, HIGH_8).add(a15.blend(a14, HIGH_8).rearrange(SWAP_8));
        FloatVector t4_0 = t8_0.blend(t8_1, HIGH_4).add(t8_1.blend(t8_0, HIGH_4).rearrange(SWAP_4));
        FloatVector t4_1 = t8_2.blend(t8_3, HIGH_4).add(t8_3.blend(t8_2, HIGH_4).rearrange(SWAP_4));
        FloatVector t4_2 = t8_4.blend(t8_5, HIGH_4).add(t8_5.blend(t8_4, HIGH_4).rearrange(SWAP_4));
        FloatVector t4_3 = t8_6.blend(t8_7, HIGH_4).add(t8_7.blend(t8_6, HIGH_4).rearrange(SWAP_4));
        FloatVector t2_0 = t4_0.blend(t4_1, HIGH_2).add(t4_1.blend(t4_0, HIGH_2).rearrange(SWAP_2));
        FloatVector t2_1 = t4_2.blend(t4_3, HIGH_2).add(t4_3.blend(t4_2, HIGH_2).rearrange(SWAP_2));
        FloatVector t1_0 = t2_0.blend(t2_1, HIGH_1).add(t2_1.blend(t2_0, HIGH_1).rearrange(SWAP_1));
        t1_0.rearrange(TREE_ORDER).intoArray(out, oo);
    }

    static boolean dotRows16Fits(int n) {
        return F.length() == 16 && n % 16 == 0;
    }

    // The lane-sum tree of dotRows16: a step at distance h puts the first vector's pairwise sums (lane i plus lane i
    // + h) in the lanes i with i mod 2h < h and the second's in the others, the same two values added either way.
    private static final boolean TREE16 = F.length() == 16;
    private static final VectorMask<Float> HIGH_8 = TREE16 ? highLanes(8) : null, HIGH_4 = TREE16 ? highLanes(4) : null,
            HIGH_2 = TREE16 ? highLanes(2) : null, HIGH_1 = TREE16 ? highLanes(1) : null;
    private static final VectorShuffle<Float> SWAP_8 = TREE16 ? swap(8) : null, SWAP_4 = TREE16 ? swap(4) : null,
            SWAP_2 = TREE16 ? swap(2) : null, SWAP_1 = TREE16 ? swap(1) : null;
    /** Back from the tree's lane order (lane i holds row treeRows()[i]) to rows in order. */
    private static final VectorShuffle<Float> TREE_ORDER = TREE16 ? treeOrder() : null;

    private static VectorMask<Float> highLanes(int h) {
        boolean[] m = new boolean[16];
        for (int i = 0; i < 16; i++) m[i] = i % (2 * h) >= h;
        return VectorMask.fromArray(F, m, 0);
    }

    private static VectorShuffle<Float> swap(int h) {
        return VectorShuffle.fromOp(F, i -> i ^ h);
    }

    /** The tree on row numbers instead of sums: which row each lane of its result holds, inverted into a shuffle. */
    private static VectorShuffle<Float> treeOrder() {
        int[][] vectors = new int[16][16];
        for (int k = 0; k < 16; k++) java.util.Arrays.fill(vectors[k], k);
        for (int h = 8; h >= 1; h /= 2) {
            int[][] next = new int[vectors.length / 2][16];
            for (int v = 0; v < next.length; v++) {
                for (int i = 0; i < 16; i++) next[v][i] = i % (2 * h) < h ? vectors[2 * v][i] : vectors[2 * v + 1][i];
            }
            vectors = next;
        }
        int[] source = new int[16];
        for (int lane = 0; lane < 16; lane++) source[vectors[0][lane]] = lane;
        return VectorShuffle.fromArray(F, source, 0);
    }

    /** Whether {@link #addWeightedRows} takes rows of n floats: whole vectors, where {@link #axpy} has no scalar tail. */
    static boolean addWeightedRowsFits(int n) {
        return n % F.length() == 0;
    }

    /**
     * y[yo, yo + n) += w[wo + j] * row j for j in [0, count), rows of n floats {@code stride} bytes apart from
     * {@code offset}: element for element the same multiply-adds, in the same order, as {@link #axpy} once per row,
     * but four vectors of y stay in registers across all the rows instead of being read and written per row.
     * n must satisfy {@link #addWeightedRowsFits}.
     */
    static void addWeightedRows(float[] w, int wo, int count, MemorySegment seg, long offset, long stride, float[] y, int yo, int n) {
        int L = F.length(), i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            FloatVector a0 = FloatVector.fromArray(F, y, yo + i), a1 = FloatVector.fromArray(F, y, yo + i + L);
            FloatVector a2 = FloatVector.fromArray(F, y, yo + i + 2 * L), a3 = FloatVector.fromArray(F, y, yo + i + 3 * L);
            long row = offset + 4L * i;
            for (int j = 0; j < count; j++, row += stride) {
                FloatVector wv = FloatVector.broadcast(F, w[wo + j]);
                a0 = FloatVector.fromMemorySegment(F, seg, row, ByteOrder.nativeOrder()).fma(wv, a0);
                a1 = FloatVector.fromMemorySegment(F, seg, row + 4L * L, ByteOrder.nativeOrder()).fma(wv, a1);
                a2 = FloatVector.fromMemorySegment(F, seg, row + 8L * L, ByteOrder.nativeOrder()).fma(wv, a2);
                a3 = FloatVector.fromMemorySegment(F, seg, row + 12L * L, ByteOrder.nativeOrder()).fma(wv, a3);
            }
            a0.intoArray(y, yo + i);
            a1.intoArray(y, yo + i + L);
            a2.intoArray(y, yo + i + 2 * L);
            a3.intoArray(y, yo + i + 3 * L);
        }
        for (; i < n; i += L) {
            FloatVector a = FloatVector.fromArray(F, y, yo + i);
            long row = offset + 4L * i;
            for (int j = 0; j < count; j++, row += stride) {
                a = FloatVector.fromMemorySegment(F, seg, row, ByteOrder.nativeOrder()).fma(FloatVector.broadcast(F, w[wo + j]), a);
            }
            a.intoArray(y, yo + i);
        }
    }

    /** y[i] += a * seg[i] for floats stored in native order off the heap. */
    static void axpy(float a, MemorySegment seg, long offset, float[] y, int yo, int n) {
        int L = F.length(), i = 0;
        if (NARROW_HELPS && n < L) {
            FloatVector av = FloatVector.broadcast(F8, a);
            for (; i + 8 <= n; i += 8) {
                FloatVector.fromMemorySegment(F8, seg, offset + 4L * i, ByteOrder.nativeOrder()).fma(av, FloatVector.fromArray(F8, y, yo + i)).intoArray(y, yo + i);
            }
            for (; i < n; i++) y[yo + i] += a * seg.get(ValueLayout.JAVA_FLOAT, offset + 4L * i);
            return;
        }
        FloatVector av = FloatVector.broadcast(F, a);
        for (; i + L <= n; i += L) {
            FloatVector.fromMemorySegment(F, seg, offset + 4L * i, ByteOrder.nativeOrder()).fma(av, FloatVector.fromArray(F, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] += a * seg.get(ValueLayout.JAVA_FLOAT, offset + 4L * i);
    }

    /** y[i] += a * seg[i] for little-endian half-precision values (the F16 KV cache), widened as {@link #dotF16} does. */
    static void axpyF16(float a, MemorySegment seg, long offset, float[] y, int yo, int n) {
        int L = F.length(), i = 0;
        FloatVector av = FloatVector.broadcast(F, a);
        for (; i + L <= n; i += L) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S_HALF, seg, offset + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector f = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(HALF_EXPONENT_ADJUST);
            f = f.reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            f.fma(av, FloatVector.fromArray(F, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] += a * Float.float16ToFloat(seg.get(I16_LE, offset + 2L * i));
    }

    /** Sum of a[i] * seg[i] for int8 values (the Q8 KV cache; the caller applies their scale), widened to float exactly. */
    static float dotI8(float[] a, int ao, MemorySegment seg, long offset, int n) {
        int L = F.length(), i = 0;
        FloatVector acc = FloatVector.zero(F);
        for (; i + L <= n; i += L) {
            FloatVector f = (FloatVector) ByteVector.fromMemorySegment(B_QUARTER, seg, offset + i, LE).convertShape(VectorOperators.B2F, F, 0);
            acc = f.fma(FloatVector.fromArray(F, a, ao + i), acc);
        }
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        float sum = acc.lane(0); // sum(acc), written out
        for (; i < n; i++) sum += a[ao + i] * seg.get(ValueLayout.JAVA_BYTE, offset + i);
        return sum;
    }

    /** y[i] += a * seg[i] for int8 values (the Q8 KV cache; the caller folds their scale into a). */
    static void axpyI8(float a, MemorySegment seg, long offset, float[] y, int yo, int n) {
        int L = F.length(), i = 0;
        FloatVector av = FloatVector.broadcast(F, a);
        for (; i + L <= n; i += L) {
            FloatVector f = (FloatVector) ByteVector.fromMemorySegment(B_QUARTER, seg, offset + i, LE).convertShape(VectorOperators.B2F, F, 0);
            f.fma(av, FloatVector.fromArray(F, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] += a * seg.get(ValueLayout.JAVA_BYTE, offset + i);
    }
}
