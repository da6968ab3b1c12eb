package dev.longbow.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The K-quant quantizers without llama.cpp at hand (KQuantGgmlParityTest holds them to GGML's bytes): blocks worked
 * out by hand, and how closely dequantize(encode(x)) returns x, beside Q8_0 and Q4_0.
 */
class KQuantQuantizerTest {
    private static float[] decode(WeightType t, byte[] bytes, int n) {
        float[] out = new float[n];
        Tensor.dequantize(t, MemorySegment.ofArray(bytes), 0, out, 0, n);
        return out;
    }

    private static byte[] repeat(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    @Test
    void allZeroBlocksAreAllZeroBytes() {
        for (WeightType t : List.of(WeightType.Q4_K, WeightType.Q5_K, WeightType.Q6_K)) {
            assertArrayEquals(new byte[t.blockBytes * 2], Quantizer.encode(t, new float[512]), t.toString());
        }
    }

    @Test
    void aConstantBlockInQ4K() {
        // All 1.0: each sub-block's fit has min 0 (all values positive) and scale 1/15 with every level 15; the
        // largest scale, 1/15, sets d = fp16(1/15/63) = 0x1456 and every 6-bit scale to 63 (bytes 0-3: 63 plus the top
        // bits of sub-blocks 4-7's 63 = 0xFF; bytes 8-11: the low nibbles 0x0F); mins and dmin are 0. Requantized with
        // d * 63 = 0.0666901, each value is round(14.99) = 15: every nibble 0xF.
        float[] x = new float[256];
        Arrays.fill(x, 1f);
        byte[] expected = concat(new byte[]{0x56, 0x14, 0, 0}, repeat(4, 0xFF), repeat(4, 0), repeat(4, 0x0F), repeat(128, 0xFF));
        byte[] got = Quantizer.encode(WeightType.Q4_K, x);
        assertArrayEquals(expected, got);
        for (float v : decode(WeightType.Q4_K, got, 256)) assertEquals(1f, v, 0.001f);
    }

    @Test
    void aConstantBlockInQ6K() {
        // All 1.0: make_qx_quants maps each sub-block to level -32 with scale -1/32 (the neighbouring trial scales tie
        // and do not replace it); the int8 scales become -128 against d = fp16(2^-12) = 0x0C00, and requantizing gives
        // level -32 again, stored as 0: all nibbles and high bits 0, which decodes to 2^-12 * -128 * -32 = 1 exactly.
        float[] x = new float[256];
        Arrays.fill(x, 1f);
        byte[] expected = concat(new byte[192], repeat(16, 0x80), new byte[]{0x00, 0x0C});
        byte[] got = Quantizer.encode(WeightType.Q6_K, x);
        assertArrayEquals(expected, got);
        for (float v : decode(WeightType.Q6_K, got, 256)) assertEquals(1f, v);
    }

    @Test
    void q5KStoresTheFifthBitOfEachLevel() {
        // 0..31 repeated: a sub-block with values 0..31 is fitted exactly (min 0, scale 1), so levels equal values.
        float[] x = new float[256];
        for (int i = 0; i < 256; i++) x[i] = i % 32;
        byte[] got = Quantizer.encode(WeightType.Q5_K, x);
        float[] back = decode(WeightType.Q5_K, got, 256);
        for (int i = 0; i < 256; i++) assertEquals(x[i], back[i], 0.02f, "value " + i);
        // Levels 16..31 sit at l = 16..31 of each sub-block: in every pair c, qh[l] has bits 2c and 2c+1 set for l >= 16.
        for (int l = 0; l < 32; l++) assertEquals(l >= 16 ? 0xFF : 0x00, got[16 + l] & 0xFF, "qh[" + l + "]");
    }

    @Test
    void rowsMustBeWholeSuperBlocks() {
        assertThrows(IllegalArgumentException.class, () -> Quantizer.encode(WeightType.Q4_K, new float[288]));
    }

    /** Relative RMS error of dequantize(encode(x)) over rows like trained weights (Gaussian, a few outliers). */
    private static double relativeRmse(WeightType t, SplittableRandom r) {
        double err = 0, sig = 0;
        for (int row = 0; row < 64; row++) {
            float[] x = new float[4096];
            for (int i = 0; i < x.length; i++) {
                double g = Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
                x[i] = (float) (g * 0.02 * (r.nextInt(200) == 0 ? 8 : 1));
            }
            float[] back = decode(t, Quantizer.encode(t, x), x.length);
            for (int i = 0; i < x.length; i++) {
                err += (x[i] - back[i]) * (double) (x[i] - back[i]);
                sig += x[i] * (double) x[i];
            }
        }
        return Math.sqrt(err / sig);
    }

    @Test
    void roundTripErrorFallsWithBitsPerWeight() {
        // Bits per weight: Q4_0 4.5, Q4_K 4.5, Q5_K 5.5, Q6_K 6.56, Q8_0 8.5. Bounds about 25% above what these rows give.
        List<WeightType> types = List.of(WeightType.Q4_0, WeightType.Q4_K, WeightType.Q5_K, WeightType.Q6_K, WeightType.Q8_0);
        double[] bounds = {0.15, 0.1, 0.05, 0.029, 0.0095};
        double previous = Double.MAX_VALUE;
        for (int i = 0; i < types.size(); i++) {
            WeightType t = types.get(i);
            double e = relativeRmse(t, new SplittableRandom(21));
            System.out.printf("%s: %.2f bits per weight, relative RMS error of dequantize(encode(x)) %.4f%n", t, 8.0 * t.blockBytes / t.blockSize, e);
            assertTrue(e < bounds[i], t + " relative RMS error " + e);
            assertTrue(e < previous, t + " should be more precise than the type before it");
            previous = e;
        }
    }

    @Test
    void everyValueLandsWithinAStepOfItself() {
        // One level step of the super-block's range (zero included): half a step from rounding, plus what 6-bit (Q4_K,
        // Q5_K) or 8-bit (Q6_K) sub-block scales and the fp16 super-block scale lose. Values span six decades within
        // a block, so small sub-blocks lean on the coarse end of those scales.
        SplittableRandom r = new SplittableRandom(22);
        for (WeightType t : List.of(WeightType.Q4_K, WeightType.Q5_K, WeightType.Q6_K)) {
            int steps = t == WeightType.Q4_K ? 15 : 31; // Q6_K: 32 levels each side of zero
            double worst = 0;
            for (int rep = 0; rep < 200; rep++) {
                float[] x = new float[256];
                for (int i = 0; i < x.length; i++) x[i] = (float) ((r.nextDouble() * 2 - 1) * Math.pow(10, r.nextInt(7) - 3));
                if (rep % 2 == 1) for (int i = 0; i < x.length; i++) x[i] = Math.abs(x[i]);
                float[] back = decode(t, Quantizer.encode(t, x), x.length);
                float lo = 0, hi = 0;
                for (float v : x) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
                double step = (hi - lo) / steps;
                for (int i = 0; i < 256; i++) worst = Math.max(worst, Math.abs(x[i] - back[i]) / step);
            }
            System.out.printf("%s: worst error %.3f of a level step of the super-block range%n", t, worst);
            assertTrue(worst <= 1, t + ": an error of " + worst + " steps");
        }
    }
}
