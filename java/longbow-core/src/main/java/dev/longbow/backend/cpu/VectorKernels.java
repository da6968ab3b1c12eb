package dev.longbow.backend.cpu;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
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
 * and reduces once per row, so results differ from {@link CpuOps}'s reference order by float rounding only.
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
    private static final VectorSpecies<Short> S_FULL = VectorSpecies.of(short.class, F.vectorShape());
    private static final VectorSpecies<Byte> B_HALF = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Byte> B_QUARTER = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));
    /** 2^112: rescales a half-precision exponent placed in a float's exponent field. */
    private static final float HALF_EXPONENT_ADJUST = 0x1p112f;

    // Rotations by L/2, L/4, L/8, L/16 lanes (static finals, so the JIT sees constant shuffles).
    private static final VectorShuffle<Float> ROTATE_1 = rotation(F.length() / 2);
    private static final VectorShuffle<Float> ROTATE_2 = rotation(F.length() / 4);
    private static final VectorShuffle<Float> ROTATE_3 = rotation(F.length() / 8);
    private static final VectorShuffle<Float> ROTATE_4 = rotation(F.length() / 16);

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

    private static final boolean AT_LEAST_8_LANES = F.length() >= 8, AT_LEAST_16_LANES = F.length() >= 16;

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
     * Q8_0 weights (34-byte blocks: fp16 scale, 32 int8) against Q8_0-quantized activations: integer products within
     * a block, scaled by both block scales and summed in float lanes, as llama.cpp's SIMD kernels do.
     */
    static float dotQ8_0(MemorySegment w, long offset, byte[] q, int qo, float[] scales, int so, int blocks) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long base = offset + 34L * b;
            IntVector isum = IntVector.zero(I);
            // As many shorts as fit one register (32 at 512 bits: the whole block); int8 products fit a short.
            for (int j = 0; j < 32; j += S_FULL.length()) {
                ShortVector wv = (ShortVector) ByteVector.fromMemorySegment(B_HALF, w, base + 2 + j, LE).convertShape(VectorOperators.B2S, S_FULL, 0);
                ShortVector xv = (ShortVector) ByteVector.fromArray(B_HALF, q, qo + b * 32 + j).convertShape(VectorOperators.B2S, S_FULL, 0);
                ShortVector p = wv.mul(xv);
                isum = isum.add(p.convertShape(VectorOperators.S2I, I, 0)).add(p.convertShape(VectorOperators.S2I, I, 1));
            }
            float scale = Float.float16ToFloat(w.get(I16_LE, base)) * scales[so + b];
            acc = ((FloatVector) isum.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, scale), acc);
        }
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        return acc.lane(0); // sum(acc), written out
    }

    /** Q4_0 weights (18-byte blocks: fp16 scale, 16 bytes of nibbles; element j low, j+16 high) against Q8_0 activations. */
    static float dotQ4_0(MemorySegment w, long offset, byte[] q, int qo, float[] scales, int so, int blocks) {
        int L = F.length();
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long base = offset + 18L * b;
            IntVector isum = IntVector.zero(I);
            for (int j = 0; j < 16; j += L) {
                ByteVector packed = ByteVector.fromMemorySegment(B_QUARTER, w, base + 2 + j, LE);
                ShortVector lo = (ShortVector) packed.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2S, S_HALF, 0);
                ShortVector hi = (ShortVector) packed.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).convertShape(VectorOperators.B2S, S_HALF, 0);
                ShortVector xlo = (ShortVector) ByteVector.fromArray(B_QUARTER, q, qo + b * 32 + j).convertShape(VectorOperators.B2S, S_HALF, 0);
                ShortVector xhi = (ShortVector) ByteVector.fromArray(B_QUARTER, q, qo + b * 32 + 16 + j).convertShape(VectorOperators.B2S, S_HALF, 0);
                isum = isum.add(lo.mul(xlo).add(hi.mul(xhi)).convertShape(VectorOperators.S2I, I, 0));
            }
            float scale = Float.float16ToFloat(w.get(I16_LE, base)) * scales[so + b];
            acc = ((FloatVector) isum.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, scale), acc);
        }
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        return acc.lane(0); // sum(acc), written out
    }

    /** Sum of a[i] * b[i] over heap arrays. */
    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int L = F.length(), i = 0;
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

    /** y[i] += a * seg[i] for floats stored in native order off the heap. */
    static void axpy(float a, MemorySegment seg, long offset, float[] y, int yo, int n) {
        int L = F.length(), i = 0;
        FloatVector av = FloatVector.broadcast(F, a);
        for (; i + L <= n; i += L) {
            FloatVector.fromMemorySegment(F, seg, offset + 4L * i, ByteOrder.nativeOrder()).fma(av, FloatVector.fromArray(F, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] += a * seg.get(ValueLayout.JAVA_FLOAT, offset + 4L * i);
    }
}
