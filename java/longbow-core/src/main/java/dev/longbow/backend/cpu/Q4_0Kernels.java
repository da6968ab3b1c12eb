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

import static dev.longbow.backend.cpu.VectorKernels.ROTATE_1;
import static dev.longbow.backend.cpu.VectorKernels.ROTATE_2;
import static dev.longbow.backend.cpu.VectorKernels.ROTATE_3;
import static dev.longbow.backend.cpu.VectorKernels.ROTATE_4;

/**
 * Q4_0 decode with 512-bit vectors, three blocks a load. One 64-byte load from a block's start holds three whole
 * 18-byte blocks (scale, 16 nibble bytes) and ten bytes of the next; seen as 32 short lanes, each lane holds four
 * nibbles, taken out with a shift and a mask and multiplied by int8 activations in short lanes. The activations are
 * laid out once per matmul in the order the load produces ({@link Q8Activations#q4_0Values}), with zeros facing the
 * scale bytes and the fourth block, so no weight is shuffled. Pairs of short lanes add into int lanes, each of which
 * then belongs to one block; there the offset of 8 comes off (8 times the lane's activation sum, laid out too) and
 * the block's scale, decoded from the same load in vector lanes, multiplies in. Each lane's sum per block is an exact
 * integer, as in {@link VectorKernels#dotQ4_0}; only float rounding across blocks differs.
 * <p>
 * Against {@link VectorKernels#dotQ4_0}'s float lanes (an int widening, two conversions and two multiply-adds per 16
 * weights) this is 12.8 -> 20.5 GB/s on one core of the AMD EPYC VM from cache, 13.3 -> 23.8 for four rows from DRAM.
 * With 256-bit vectors a load holds one block and is no faster (9.2 against 9.4 GB/s), so there VectorKernels' kernels
 * stay. As in {@link KQuantKernels}, nothing here calls a method that takes or returns a vector.
 */
final class Q4_0Kernels {
    private Q4_0Kernels() {}

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final VectorSpecies<Float> F = VectorKernels.F;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
        static final boolean SUPPORTED = F.vectorBitSize() == 512;
    private static final VectorSpecies<Byte> B_QUARTER = SUPPORTED ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4)) : null;
    /** Whole blocks per load. */
    static final int BLOCKS_PER_GROUP = F.vectorByteSize() / 18;
    static final int SHORT_LANES = S.length(), INT_LANES = I.length();
    /** 2^112: a half's exponent and mantissa shifted into a float's fields stand for the half's value times 2^-112. */
    static final float HALF_EXPONENT_ADJUST = 0x1p112f;

    /**
     * For nibble slot s (bits 4s..4s+3 of a short lane) and short lane l, at [s * SHORT_LANES + l]: the element of the
     * group (block * 32 + index) that nibble holds, or -1 where the lane holds a scale or a block past the group.
     */
    static final int[] ELEMENT = new int[4 * SHORT_LANES];
    /** The block of the group whose values int lane l (bytes 4l..4l+3 of the load) holds, or -1 for none. */
    static final int[] BLOCK_OF_INT_LANE = new int[INT_LANES];
    /** Brings block k's scale (short lane 9k of the load) into the high half of each of k's int lanes. */
    private static final VectorShuffle<Short> SCALE_TO_INT_LANES;

    static {
        for (int s = 0; s < 4; s++) {
            for (int l = 0; l < SHORT_LANES; l++) {
                int at = 2 * l + s / 2, block = at / 18, inBlock = at % 18;
                ELEMENT[s * SHORT_LANES + l] = block >= BLOCKS_PER_GROUP || inBlock < 2 ? -1
                        : block * 32 + (inBlock - 2) + (s % 2 == 1 ? 16 : 0); // low nibble element j, high j + 16
            }
        }
        for (int l = 0; l < INT_LANES; l++) {
            BLOCK_OF_INT_LANE[l] = -1;
            for (int at = 4 * l; at < 4 * l + 4; at++) {
                if (at / 18 < BLOCKS_PER_GROUP && at % 18 >= 2) BLOCK_OF_INT_LANE[l] = at / 18;
            }
        }
        // A lane of no block takes block 0's scale: a finite value, times the zero its lane's activations sum to.
        SCALE_TO_INT_LANES = VectorShuffle.fromOp(S, i -> 9 * Math.max(0, BLOCK_OF_INT_LANE[i / 2]));
    }

    /**
     * The groups a row of {@code blocks} blocks runs through the grouped loop; the rest go block by block. A group's
     * load reads ten bytes past its blocks, so a row's last block is never in a group: the row may end the tensor.
     */
    static int groups(int blocks) {
        return (blocks - 1) / BLOCKS_PER_GROUP;
    }

    /**
     * The dot product of one Q4_0 row with one token's activations: x (grouped values), laneOffsets and laneScales
     * from {@link Q8Activations} at {@code xo} and {@code lo}; the blocks after the groups from the widened values and
     * block scales at {@code wo} and {@code so}, as VectorKernels.dotQ4_0 takes them.
     */
    static float dotQ4_0(MemorySegment w, long offset, short[] x, int xo, int[] laneOffsets, float[] laneScales, int lo,
                         float[] wide, int wo, float[] scales, int so, int blocks) {
        int groups = groups(blocks);
        FloatVector acc = FloatVector.zero(F);
        for (int g = 0; g < groups; g++) {
            ShortVector v = ShortVector.fromMemorySegment(S, w, offset + 18L * BLOCKS_PER_GROUP * g, LE);
            int xg = xo + g * 4 * SHORT_LANES, lg = lo + g * INT_LANES;
            ShortVector p = v.and((short) 0xF).mul(ShortVector.fromArray(S, x, xg))
                    .add(v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(ShortVector.fromArray(S, x, xg + SHORT_LANES)))
                    .add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(ShortVector.fromArray(S, x, xg + 2 * SHORT_LANES)))
                    .add(v.lanewise(VectorOperators.LSHR, 12).mul(ShortVector.fromArray(S, x, xg + 3 * SHORT_LANES)));
            IntVector pairs = p.reinterpretAsInts();
            IntVector sum = pairs.add(pairs.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                    .sub(IntVector.fromArray(I, laneOffsets, lg));
            IntVector half = v.rearrange(SCALE_TO_INT_LANES).reinterpretAsInts();
            FloatVector scale = half.and(0x80000000).or(half.lanewise(VectorOperators.LSHR, 3).and(0x0FFFE000))
                    .reinterpretAsFloats().mul(FloatVector.fromArray(F, laneScales, lg));
            acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).fma(scale, acc);
        }
        for (int b = groups * BLOCKS_PER_GROUP; b < blocks; b++) {
            long base = offset + 18L * b;
            IntVector v = (IntVector) ByteVector.fromMemorySegment(B_QUARTER, w, base + 2, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            FloatVector lo4 = (FloatVector) v.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0);
            FloatVector hi4 = (FloatVector) v.lanewise(VectorOperators.LSHR, 4).sub(8).convertShape(VectorOperators.I2F, F, 0);
            FloatVector sum = hi4.fma(FloatVector.fromArray(F, wide, wo + b * 32 + 16), lo4.mul(FloatVector.fromArray(F, wide, wo + b * 32)));
            acc = sum.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16_LE, base)) * scales[so + b]), acc);
        }
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        acc = acc.add(acc.rearrange(ROTATE_3));
        acc = acc.add(acc.rearrange(ROTATE_4));
        return acc.lane(0); // VectorKernels.sum(acc), written out
    }

    /**
     * {@link #dotQ4_0} for four rows {@code stride} bytes apart into out[oi + k * outStride], as
     * VectorKernels.dotQ8_0x4 is for Q8_0: the activations are loaded once for four rows, and four distant streams
     * keep more of DRAM busy. Bit-identical to dotQ4_0 per row.
     */
    static void dotQ4_0x4(MemorySegment w, long offset, long stride, short[] x, int xo, int[] laneOffsets, float[] laneScales, int lo,
                          float[] wide, int wo, float[] scales, int so, int blocks, float[] out, int oi, int outStride) {
        int groups = groups(blocks);
        long o1 = offset + stride, o2 = offset + 2 * stride, o3 = offset + 3 * stride;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int g = 0; g < groups; g++) {
            long d = 18L * BLOCKS_PER_GROUP * g;
            int xg = xo + g * 4 * SHORT_LANES, lg = lo + g * INT_LANES;
            ShortVector x0 = ShortVector.fromArray(S, x, xg), x1 = ShortVector.fromArray(S, x, xg + SHORT_LANES);
            ShortVector x2 = ShortVector.fromArray(S, x, xg + 2 * SHORT_LANES), x3 = ShortVector.fromArray(S, x, xg + 3 * SHORT_LANES);
            IntVector offsets = IntVector.fromArray(I, laneOffsets, lg);
            FloatVector activationScales = FloatVector.fromArray(F, laneScales, lg);

            ShortVector v = ShortVector.fromMemorySegment(S, w, offset + d, LE);
            ShortVector p = v.and((short) 0xF).mul(x0).add(v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(x1))
                    .add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(x2)).add(v.lanewise(VectorOperators.LSHR, 12).mul(x3));
            IntVector pairs = p.reinterpretAsInts();
            IntVector sum = pairs.add(pairs.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).sub(offsets);
            IntVector half = v.rearrange(SCALE_TO_INT_LANES).reinterpretAsInts();
            acc0 = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).fma(half.and(0x80000000).or(half.lanewise(VectorOperators.LSHR, 3).and(0x0FFFE000))
                    .reinterpretAsFloats().mul(activationScales), acc0);

            v = ShortVector.fromMemorySegment(S, w, o1 + d, LE);
            p = v.and((short) 0xF).mul(x0).add(v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(x1))
                    .add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(x2)).add(v.lanewise(VectorOperators.LSHR, 12).mul(x3));
            pairs = p.reinterpretAsInts();
            sum = pairs.add(pairs.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).sub(offsets);
            half = v.rearrange(SCALE_TO_INT_LANES).reinterpretAsInts();
            acc1 = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).fma(half.and(0x80000000).or(half.lanewise(VectorOperators.LSHR, 3).and(0x0FFFE000))
                    .reinterpretAsFloats().mul(activationScales), acc1);

            v = ShortVector.fromMemorySegment(S, w, o2 + d, LE);
            p = v.and((short) 0xF).mul(x0).add(v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(x1))
                    .add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(x2)).add(v.lanewise(VectorOperators.LSHR, 12).mul(x3));
            pairs = p.reinterpretAsInts();
            sum = pairs.add(pairs.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).sub(offsets);
            half = v.rearrange(SCALE_TO_INT_LANES).reinterpretAsInts();
            acc2 = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).fma(half.and(0x80000000).or(half.lanewise(VectorOperators.LSHR, 3).and(0x0FFFE000))
                    .reinterpretAsFloats().mul(activationScales), acc2);

            v = ShortVector.fromMemorySegment(S, w, o3 + d, LE);
            p = v.and((short) 0xF).mul(x0).add(v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(x1))
                    .add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(x2)).add(v.lanewise(VectorOperators.LSHR, 12).mul(x3));
            pairs = p.reinterpretAsInts();
            sum = pairs.add(pairs.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).sub(offsets);
            half = v.rearrange(SCALE_TO_INT_LANES).reinterpretAsInts();
            acc3 = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).fma(half.and(0x80000000).or(half.lanewise(VectorOperators.LSHR, 3).and(0x0FFFE000))
                    .reinterpretAsFloats().mul(activationScales), acc3);
        }
        for (int b = groups * BLOCKS_PER_GROUP; b < blocks; b++) {
            long d = 18L * b;
            FloatVector xlo = FloatVector.fromArray(F, wide, wo + b * 32), xhi = FloatVector.fromArray(F, wide, wo + b * 32 + 16);
            float xs = scales[so + b];
            IntVector v = (IntVector) ByteVector.fromMemorySegment(B_QUARTER, w, offset + d + 2, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            acc0 = ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).sub(8).convertShape(VectorOperators.I2F, F, 0))
                    .fma(xhi, ((FloatVector) v.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0)).mul(xlo))
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16_LE, offset + d)) * xs), acc0);
            v = (IntVector) ByteVector.fromMemorySegment(B_QUARTER, w, o1 + d + 2, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            acc1 = ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).sub(8).convertShape(VectorOperators.I2F, F, 0))
                    .fma(xhi, ((FloatVector) v.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0)).mul(xlo))
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16_LE, o1 + d)) * xs), acc1);
            v = (IntVector) ByteVector.fromMemorySegment(B_QUARTER, w, o2 + d + 2, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            acc2 = ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).sub(8).convertShape(VectorOperators.I2F, F, 0))
                    .fma(xhi, ((FloatVector) v.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0)).mul(xlo))
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16_LE, o2 + d)) * xs), acc2);
            v = (IntVector) ByteVector.fromMemorySegment(B_QUARTER, w, o3 + d + 2, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            acc3 = ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).sub(8).convertShape(VectorOperators.I2F, F, 0))
                    .fma(xhi, ((FloatVector) v.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0)).mul(xlo))
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16_LE, o3 + d)) * xs), acc3);
        }
        // sum(acc) for each, written out.
        acc0 = acc0.add(acc0.rearrange(ROTATE_1));
        acc0 = acc0.add(acc0.rearrange(ROTATE_2));
        acc0 = acc0.add(acc0.rearrange(ROTATE_3));
        acc0 = acc0.add(acc0.rearrange(ROTATE_4));
        acc1 = acc1.add(acc1.rearrange(ROTATE_1));
        acc1 = acc1.add(acc1.rearrange(ROTATE_2));
        acc1 = acc1.add(acc1.rearrange(ROTATE_3));
        acc1 = acc1.add(acc1.rearrange(ROTATE_4));
        acc2 = acc2.add(acc2.rearrange(ROTATE_1));
        acc2 = acc2.add(acc2.rearrange(ROTATE_2));
        acc2 = acc2.add(acc2.rearrange(ROTATE_3));
        acc2 = acc2.add(acc2.rearrange(ROTATE_4));
        acc3 = acc3.add(acc3.rearrange(ROTATE_1));
        acc3 = acc3.add(acc3.rearrange(ROTATE_2));
        acc3 = acc3.add(acc3.rearrange(ROTATE_3));
        acc3 = acc3.add(acc3.rearrange(ROTATE_4));
        out[oi] = acc0.lane(0);
        out[oi + outStride] = acc1.lane(0);
        out[oi + 2 * outStride] = acc2.lane(0);
        out[oi + 3 * outStride] = acc3.lane(0);
    }
}
