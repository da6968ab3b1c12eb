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

import static dev.longbow.backend.cpu.VectorKernels.AT_LEAST_16_LANES;
import static dev.longbow.backend.cpu.VectorKernels.AT_LEAST_8_LANES;
import static dev.longbow.backend.cpu.VectorKernels.ROTATE_1;
import static dev.longbow.backend.cpu.VectorKernels.ROTATE_2;
import static dev.longbow.backend.cpu.VectorKernels.ROTATE_3;
import static dev.longbow.backend.cpu.VectorKernels.ROTATE_4;

/**
 * Decode dot products of K-quant weight rows (Q4_K, Q5_K, Q6_K super-blocks of 256) against activations quantized
 * to Q8_K, as llama.cpp pairs them. Products of a weight level and an int8 activation are formed in short lanes,
 * pairs of them added into int lanes and scaled there, so each lane's sum per super-block is an exact integer; float
 * arithmetic starts after that, times the super-block's scales.
 * <p>
 * Every kernel is one method with nothing it calls that takes or returns a vector except the Vector API's own
 * methods. Past a node budget C2 stops inlining methods that are not forced inline, and a helper taking a vector then
 * receives it boxed, on the heap: the kernel runs ten times slower and allocates on every call (AllocationTest saw 15
 * MB per decode step when a pair-sum helper fell over that budget in one run of the test suite and not another).
 */
final class KQuantKernels {
    private KQuantKernels() {}

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    private static final VectorSpecies<Float> F = VectorKernels.F;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** Twice F's lanes as shorts, and as many bytes to fill them. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, F.vectorShape());
    /** A byte per int lane of I: the Q6_K scales, widened to I. */
    private static final VectorSpecies<Byte> B_QUARTER = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));
    /** Half as many bytes, widened to S. */
    private static final VectorSpecies<Byte> B_HALF = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 2));

    /**
     * Where {@link #dotQ4_K} reads each activation of a super-block from: position p of a nibble-ordered block holds
     * element Q4K_NIBBLE_ORDER[p]. One load of a Q4_K block's nibbles into short lanes gives four nibbles per lane,
     * taken out by a shift and a mask each; laying the activations out in that order once per matmul (every row shares
     * them) spares each row the shuffles that would bring the nibbles into element order.
     */
    static final int[] Q4K_NIBBLE_ORDER = new int[256];

    // A Q4_K block's 12 bytes of 6-bit scales and mins (bytes 4-15), read as ints u0, u1, u2, decode lane by lane as
    // ((A >>> shiftA) & maskA) | (((B >>> shiftB) & maskB) << 4), A and B picked from u0..u2. Value v of 16: scale v
    // for v < 8, min v - 8 after. The tables hold the first I.length() values (all 16 with 512-bit vectors).
    private static final VectorShuffle<Integer> SCALE_PICK_A, SCALE_PICK_B, MIN_PICK_A, MIN_PICK_B;
    private static final IntVector SCALE_SHIFT_A, SCALE_MASK_A, SCALE_SHIFT_B, SCALE_MASK_B;
    private static final IntVector MIN_SHIFT_A, MIN_MASK_A, MIN_SHIFT_B, MIN_MASK_B;
    /** Per int lane of a load's products, the decoded lane holding its sub-block's scale (low nibbles; +1 for high) for load 0. */
    private static final IntVector FIRST_LOW_SCALE;
    /** How far the sub-blocks move from one load of nibbles to the next: 2 pairs with 512-bit vectors, 1 with 256-bit. */
    private static final int LOW_SCALE_STEP;

    /** With 512-bit vectors: each lane's qh byte pair (value l of its nibble bytes), and the shift to its pair's bits per load. */
    private static final VectorShuffle<Short> Q5K_QH_LANES;
    private static final ShortVector Q5K_PAIR_SHIFT_0, Q5K_PAIR_SHIFT_1;

    static {
        int shorts = S.length(), lanes = I.length();
        Q5K_QH_LANES = VectorShuffle.fromOp(S, i -> i % 16);
        short[][] pairShift = new short[2][shorts];
        for (int k = 0; k < 2; k++) for (int i = 0; i < shorts; i++) pairShift[k][i] = (short) (2 * ((2 * shorts * k + 2 * i) / 32));
        Q5K_PAIR_SHIFT_0 = ShortVector.fromArray(S, pairShift[0], 0);
        Q5K_PAIR_SHIFT_1 = ShortVector.fromArray(S, pairShift[1], 0);
        // Load k holds bytes [2 * shorts * k, 2 * shorts * (k + 1)) of the 128 nibble bytes; short lane i holds bytes
        // 2i and 2i + 1 of it, whose nibbles n = 0..3 are (low of 2i, high of 2i, low of 2i + 1, high of 2i + 1).
        for (int k = 0; k < 128 / (2 * shorts); k++) {
            for (int n = 0; n < 4; n++) {
                for (int i = 0; i < shorts; i++) {
                    int at = 2 * shorts * k + 2 * i + (n >> 1);
                    Q4K_NIBBLE_ORDER[4 * shorts * k + shorts * n + i] = 64 * (at / 32) + 32 * (n & 1) + at % 32;
                }
            }
        }
        int[][] t = new int[6][16]; // pick A, shift A, mask A, pick B, shift B, mask B
        for (int v = 0; v < 16; v++) {
            boolean min = v >= 8, upper = v % 8 >= 4;
            int q = v % 4;
            // Values 0-3 are the low 6 bits of their byte (u0 for scales, u1 for mins); values 4-7 take their low
            // 4 bits from u2 (low nibbles for scales, high for mins) and their top 2 from the spare bits of u0 / u1.
            t[0][v] = upper ? 2 : min ? 1 : 0;
            t[1][v] = 8 * q + (upper && min ? 4 : 0);
            t[2][v] = upper ? 0x0f : 0x3f;
            t[3][v] = min ? 1 : 0;
            t[4][v] = 8 * q + 6;
            t[5][v] = upper ? 3 : 0;
        }
        SCALE_PICK_A = VectorShuffle.fromArray(I, t[0], 0);
        SCALE_SHIFT_A = IntVector.fromArray(I, t[1], 0);
        SCALE_MASK_A = IntVector.fromArray(I, t[2], 0);
        SCALE_PICK_B = VectorShuffle.fromArray(I, t[3], 0);
        SCALE_SHIFT_B = IntVector.fromArray(I, t[4], 0);
        SCALE_MASK_B = IntVector.fromArray(I, t[5], 0);
        MIN_PICK_A = VectorShuffle.fromArray(I, t[0], 16 - lanes);
        MIN_SHIFT_A = IntVector.fromArray(I, t[1], 16 - lanes);
        MIN_MASK_A = IntVector.fromArray(I, t[2], 16 - lanes);
        MIN_PICK_B = VectorShuffle.fromArray(I, t[3], 16 - lanes);
        MIN_SHIFT_B = IntVector.fromArray(I, t[4], 16 - lanes);
        MIN_MASK_B = IntVector.fromArray(I, t[5], 16 - lanes);
        int[] first = new int[lanes];
        for (int j = 0; j < lanes; j++) first[j] = 2 * ((4 * j) / 32); // int lane j: bytes 4j..4j+3 of load 0, pair (4j) / 32
        FIRST_LOW_SCALE = IntVector.fromArray(I, first, 0);
        LOW_SCALE_STEP = 2 * (2 * shorts / 32);
    }

    /**
     * Q4_K weights (144-byte super-blocks: fp16 d and dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles)
     * against Q8_K activations given as shorts in {@link #Q4K_NIBBLE_ORDER}, with {@code minSums} holding per
     * super-block 16 ints: 8 zeros, then the sums of each sub-block's 32 activations (so that the 16 decoded scales
     * and mins times them are the min products alone). Each nibble is multiplied by its
     * activation in short lanes (at most 15 * 127; two of a sub-block added, still within a short), adjacent lanes
     * added into int lanes and multiplied by their sub-block's scale there; the scales and mins of a super-block are
     * decoded in vector lanes at once. The min terms, dmin * sum(min * sum of x), accumulate beside the main sum.
     */
    static float dotQ4_K(MemorySegment w, long offset, short[] x, int xo, float[] xScales, int so, int[] minSums, int mo, int blocks) {
        int shorts = S.length(), lanes = I.length();
        FloatVector acc = FloatVector.zero(F), minAcc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long base = offset + 144L * b;
            IntVector packed = IntVector.fromMemorySegment(I, w, base + 4, LE);
            IntVector scales = packed.rearrange(SCALE_PICK_A).lanewise(VectorOperators.LSHR, SCALE_SHIFT_A).and(SCALE_MASK_A)
                    .or(packed.rearrange(SCALE_PICK_B).lanewise(VectorOperators.LSHR, SCALE_SHIFT_B).and(SCALE_MASK_B).lanewise(VectorOperators.LSHL, 4));
            IntVector mins = lanes == 16 ? scales // one vector holds scales and mins
                    : packed.rearrange(MIN_PICK_A).lanewise(VectorOperators.LSHR, MIN_SHIFT_A).and(MIN_MASK_A)
                            .or(packed.rearrange(MIN_PICK_B).lanewise(VectorOperators.LSHR, MIN_SHIFT_B).and(MIN_MASK_B).lanewise(VectorOperators.LSHL, 4));
            int xb = xo + 256 * b;
            IntVector isum = IntVector.zero(I);
            for (int k = 0; k < 128 / (2 * shorts); k++) {
                IntVector lowScale = FIRST_LOW_SCALE.add(k * LOW_SCALE_STEP);
                ShortVector v = ByteVector.fromMemorySegment(B, w, base + 16 + 2L * shorts * k, LE).reinterpretAsShorts();
                int xk = xb + 4 * shorts * k;
                IntVector lows = v.and((short) 0xF).mul(ShortVector.fromArray(S, x, xk))
                        .add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(ShortVector.fromArray(S, x, xk + 2 * shorts))).reinterpretAsInts();
                IntVector highs = v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(ShortVector.fromArray(S, x, xk + shorts))
                        .add(v.lanewise(VectorOperators.LSHR, 12).mul(ShortVector.fromArray(S, x, xk + 3 * shorts))).reinterpretAsInts();
                // Adjacent short lanes summed in int lanes: an int plus itself shifted up 16 bits holds the pair's sum
                // in its upper half (exact while it fits in a short), which the arithmetic shift brings down.
                lows = lows.add(lows.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                highs = highs.add(highs.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                isum = isum.add(lows.mul(lowScale.selectFrom(scales))).add(highs.mul(lowScale.add(1).selectFrom(scales)));
            }
            int dAndMin = w.get(I32_LE, base);
            float dx = xScales[so + b];
            acc = ((FloatVector) isum.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, Float.float16ToFloat((short) dAndMin) * dx), acc);
            minAcc = ((FloatVector) mins.mul(IntVector.fromArray(I, minSums, mo + 16 * b + 16 - lanes)).convertShape(VectorOperators.I2F, F, 0))
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat((short) (dAndMin >>> 16)) * dx), minAcc);
        }
        acc = acc.sub(minAcc);
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        return acc.lane(0); // the lanes' sum, written out
    }

    /**
     * Q5_K weights (176-byte super-blocks: Q4_K's header, 32 bytes of fifth bits, then Q4_K's nibbles) against the
     * activations {@link #dotQ4_K} takes: the same arithmetic with each nibble's fifth bit OR-ed in (levels up to 31,
     * two products of a sub-block at most 7874, a lane pair 15748: still a short).
     */
    static float dotQ5_K(MemorySegment w, long offset, short[] x, int xo, float[] xScales, int so, int[] minSums, int mo, int blocks) {
        int shorts = S.length(), lanes = I.length();
        FloatVector acc = FloatVector.zero(F), minAcc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long base = offset + 176L * b;
            IntVector packed = IntVector.fromMemorySegment(I, w, base + 4, LE);
            IntVector scales = packed.rearrange(SCALE_PICK_A).lanewise(VectorOperators.LSHR, SCALE_SHIFT_A).and(SCALE_MASK_A)
                    .or(packed.rearrange(SCALE_PICK_B).lanewise(VectorOperators.LSHR, SCALE_SHIFT_B).and(SCALE_MASK_B).lanewise(VectorOperators.LSHL, 4));
            IntVector mins = lanes == 16 ? scales // one vector holds scales and mins
                    : packed.rearrange(MIN_PICK_A).lanewise(VectorOperators.LSHR, MIN_SHIFT_A).and(MIN_MASK_A)
                            .or(packed.rearrange(MIN_PICK_B).lanewise(VectorOperators.LSHR, MIN_SHIFT_B).and(MIN_MASK_B).lanewise(VectorOperators.LSHL, 4));
            int xb = xo + 256 * b;
            IntVector isum = IntVector.zero(I);
            // qh byte l holds the fifth bits of values l, l + 32, ... (bit 2c for pair c's low nibbles, 2c + 1 its
            // high); a lane of nibble bytes l, l + 1 takes qh bytes l, l + 1, and moves its pair's bits to 0 and 1.
            ShortVector qh = shorts == 32 ? ByteVector.fromMemorySegment(B, w, base + 16, LE).reinterpretAsShorts().rearrange(Q5K_QH_LANES)
                    : ByteVector.fromMemorySegment(B, w, base + 16, LE).reinterpretAsShorts();
            for (int k = 0; k < 128 / (2 * shorts); k++) {
                IntVector lowScale = FIRST_LOW_SCALE.add(k * LOW_SCALE_STEP);
                ShortVector v = ByteVector.fromMemorySegment(B, w, base + 48 + 2L * shorts * k, LE).reinterpretAsShorts();
                ShortVector fifth = shorts == 32 ? qh.lanewise(VectorOperators.LSHR, k == 0 ? Q5K_PAIR_SHIFT_0 : Q5K_PAIR_SHIFT_1)
                        : qh.lanewise(VectorOperators.LSHR, 2 * k);
                int xk = xb + 4 * shorts * k;
                IntVector lows = v.and((short) 0xF).or(fifth.lanewise(VectorOperators.LSHL, 4).and((short) 0x10)).mul(ShortVector.fromArray(S, x, xk))
                        .add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).or(fifth.lanewise(VectorOperators.LSHR, 4).and((short) 0x10))
                                .mul(ShortVector.fromArray(S, x, xk + 2 * shorts))).reinterpretAsInts();
                IntVector highs = v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).or(fifth.lanewise(VectorOperators.LSHL, 3).and((short) 0x10))
                        .mul(ShortVector.fromArray(S, x, xk + shorts))
                        .add(v.lanewise(VectorOperators.LSHR, 12).or(fifth.lanewise(VectorOperators.LSHR, 5).and((short) 0x10))
                                .mul(ShortVector.fromArray(S, x, xk + 3 * shorts))).reinterpretAsInts();
                // Adjacent short lanes summed in int lanes: an int plus itself shifted up 16 bits holds the pair's sum
                // in its upper half (exact while it fits in a short), which the arithmetic shift brings down.
                lows = lows.add(lows.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                highs = highs.add(highs.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                isum = isum.add(lows.mul(lowScale.selectFrom(scales))).add(highs.mul(lowScale.add(1).selectFrom(scales)));
            }
            int dAndMin = w.get(I32_LE, base);
            float dx = xScales[so + b];
            acc = ((FloatVector) isum.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, Float.float16ToFloat((short) dAndMin) * dx), acc);
            minAcc = ((FloatVector) mins.mul(IntVector.fromArray(I, minSums, mo + 16 * b + 16 - lanes)).convertShape(VectorOperators.I2F, F, 0))
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat((short) (dAndMin >>> 16)) * dx), minAcc);
        }
        acc = acc.sub(minAcc);
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        return acc.lane(0); // the lanes' sum, written out
    }

    /**
     * Where {@link #dotQ6_K} reads each activation from, as {@link #Q4K_NIBBLE_ORDER} is for Q4_K: a Q6_K half
     * super-block (128 values) keeps its low nibbles in 64 bytes, byte l holding values l and l + 64 and byte l + 32
     * values l + 32 and l + 96 (l < 32), and each short lane of a load holds two such bytes.
     */
    static final int[] Q6K_NIBBLE_ORDER = new int[256];
    /** Per short lane of a load of low nibbles: 2 where its bytes are p >= 32 of the half, whose high bits sit 2 bits up. */
    private static final ShortVector Q6K_UPPER_BYTES_SHIFT;
    /** With 512-bit vectors, which qh short each lane of the first half's load takes (its value l's byte pair). */
    private static final ShortVector Q6K_QH_INDEX;
    /** Per int lane of a half's first load, the scale lane (of its half's scales) of its products' group of 16. */
    private static final IntVector Q6K_FIRST_SCALE;

    static {
        int shorts = S.length(), lanes = I.length();
        for (int h = 0; h < 2; h++) {
            for (int k = 0; k < 64 / (2 * shorts); k++) {
                for (int n = 0; n < 4; n++) {
                    for (int i = 0; i < shorts; i++) {
                        int p = 2 * shorts * k + 2 * i + (n >> 1); // byte of the half's 64
                        Q6K_NIBBLE_ORDER[128 * h + 4 * shorts * k + shorts * n + i] = 128 * h + p % 32 + (p >= 32 ? 32 : 0) + 64 * (n & 1);
                    }
                }
            }
        }
        // Nibble n of a lane: value l (n = 0, low), l + 64 (n = 1, high), l + 1 (n = 2), l + 65 (n = 3), for bytes
        // p < 32; bytes p >= 32 hold l + 32 and l + 96 instead. Their high bits sit in qh byte l at bits 0-1, 4-5
        // (p < 32) or 2-3, 6-7 (p >= 32), and byte l + 1 eight bits up.
        short[] upper = new short[shorts];
        for (int i = 0; i < shorts; i++) upper[i] = (short) (2 * i >= 32 ? 2 : 0); // only 512-bit loads span both
        Q6K_UPPER_BYTES_SHIFT = ShortVector.fromArray(S, upper, 0);
        short[] qhIndex = new short[shorts];
        for (int i = 0; i < shorts; i++) qhIndex[i] = (short) (i % 16);
        Q6K_QH_INDEX = ShortVector.fromArray(S, qhIndex, 0);
        int[] first = new int[lanes];
        for (int j = 0; j < lanes; j++) {
            int p = 4 * j; // int lane j: bytes 4j..4j+3 of the first load, values p % 32 + (32 if p >= 32) onward
            first[j] = (p % 32 + (p >= 32 ? 32 : 0)) / 16;
        }
        Q6K_FIRST_SCALE = IntVector.fromArray(I, first, 0);
    }

    /**
     * Q6_K weights (210-byte super-blocks: 128 bytes of low nibbles, 64 of high bit pairs, 16 int8 scales, fp16 d)
     * against Q8_K activations given as shorts in {@link #Q6K_NIBBLE_ORDER}, with {@code sums} the sums of each 16
     * activations as ints. Levels are 6-bit (0..63) times an activation in short lanes, two of a group of 16 added
     * (at most 2 * 63 * 127) and pairs of lanes added into int lanes (at most 32004, still a short's range), scaled
     * there; the levels' offset of 32 comes off once per super-block as 32 * sum(scale * sum of 16).
     */
    static float dotQ6_K(MemorySegment w, long offset, short[] x, int xo, float[] xScales, int so, int[] sums, int so16, int blocks) {
        int shorts = S.length(), lanes = I.length();
        FloatVector acc = FloatVector.zero(F);
        // One loop over half super-blocks rather than a loop over halves inside one over super-blocks: that nest
        // compiled to code of two sizes from one JVM to the next (2.9 or 5.1 KB), the larger at two thirds the speed.
        for (int half = 0; half < 2 * blocks; half++) {
            int b = half >>> 1, h = half & 1;
            long base = offset + 210L * b;
            int xb = xo + 256 * b;
            // The scales of this half's groups (all 16 when a vector holds them).
            IntVector scales = (IntVector) ByteVector.fromMemorySegment(B_QUARTER, w,
                    base + 192 + (lanes == 16 ? 0 : 8 * h), LE).convertShape(VectorOperators.B2I, I, 0);
            // With 512-bit vectors one load holds both halves' qh; an index vector moved by h picks this half's.
            ShortVector qh = shorts == 32 ? Q6K_QH_INDEX.add((short) (16 * h)).selectFrom(ByteVector.fromMemorySegment(B, w, base + 128, LE).reinterpretAsShorts())
                    : ByteVector.fromMemorySegment(B, w, base + 128 + 32L * h, LE).reinterpretAsShorts();
            IntVector isum = IntVector.zero(I);
            for (int k = 0; k < 64 / (2 * shorts); k++) {
                ShortVector v = ByteVector.fromMemorySegment(B, w, base + 64L * h + 2L * shorts * k, LE).reinterpretAsShorts();
                // Bytes p >= 32 keep their values' high bits two places up (bits 2-3 and 6-7 of each qh byte):
                // shifting those lanes down by 2 first lets one set of shifts serve every lane. With 256-bit
                // vectors a load lies wholly below or above byte 32.
                ShortVector high = shorts == 32 ? qh.lanewise(VectorOperators.LSHR, Q6K_UPPER_BYTES_SHIFT) : qh.lanewise(VectorOperators.LSHR, 2 * k);
                int xk = xb + 128 * h + 4 * shorts * k;
                IntVector lows = v.and((short) 0xF).or(high.lanewise(VectorOperators.LSHL, 4).and((short) 0x30)).mul(ShortVector.fromArray(S, x, xk))
                        .add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).or(high.lanewise(VectorOperators.LSHR, 4).and((short) 0x30)).mul(ShortVector.fromArray(S, x, xk + 2 * shorts)))
                        .reinterpretAsInts();
                IntVector highs = v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).or(high.and((short) 0x30)).mul(ShortVector.fromArray(S, x, xk + shorts))
                        .add(v.lanewise(VectorOperators.LSHR, 12).or(high.lanewise(VectorOperators.LSHR, 8).and((short) 0x30)).mul(ShortVector.fromArray(S, x, xk + 3 * shorts)))
                        .reinterpretAsInts();
                lows = lows.add(lows.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16); // pair sums, as in dotQ4_K
                highs = highs.add(highs.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                IntVector group = Q6K_FIRST_SCALE.add(lanes == 16 ? 8 * h : 2 * k);
                isum = isum.add(lows.mul(group.selectFrom(scales))).add(highs.mul(group.add(4).selectFrom(scales)));
            }
            // Levels are stored as q + 32: take 32 * scale * (sum of the group's activations) off, once per scale
            // (a 512-bit vector holds both halves' scales).
            if (lanes == 8 || h == 0) {
                isum = isum.sub(scales.mul(IntVector.fromArray(I, sums, so16 + 16 * b + (lanes == 16 ? 0 : 8 * h))).lanewise(VectorOperators.LSHL, 5));
            }
            acc = ((FloatVector) isum.convertShape(VectorOperators.I2F, F, 0))
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16_LE, base + 208)) * xScales[so + b]), acc);
        }
        acc = acc.add(acc.rearrange(ROTATE_1));
        acc = acc.add(acc.rearrange(ROTATE_2));
        if (AT_LEAST_8_LANES) acc = acc.add(acc.rearrange(ROTATE_3));
        if (AT_LEAST_16_LANES) acc = acc.add(acc.rearrange(ROTATE_4));
        return acc.lane(0); // the lanes' sum, written out
    }
}
