package dev.longbow.backend.cpu;

import dev.longbow.tensor.Quantizer;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Longbow's K-quant code against GGML's functions of the same name in llama.cpp's own build (see {@link GgmlNative}):
 * the quantizers byte for byte, dequantization and Q8_K activations bit for bit, and the dot products within float
 * rounding (that build sums with AVX2 in another order than GGML's generic C, which Longbow's reference follows).
 */
class KQuantGgmlParityTest {
    private static final List<WeightType> TYPES = List.of(WeightType.Q4_K, WeightType.Q5_K, WeightType.Q6_K);

    @TempDir
    static Path dir;
    static GgmlNative ggml;

    @BeforeAll
    static void open() throws Throwable {
        ggml = GgmlNative.open(dir);
    }

    @AfterAll
    static void close() {
        if (ggml != null) ggml.close();
    }

    private static String suffix(WeightType t) {
        return t.name().toLowerCase().replace("_k", "_K");
    }

    /** Rows of 2048 values in the shapes quantizers meet and the corner cases they branch on. */
    static List<float[]> rows(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<float[]> rows = new ArrayList<>();
        for (int kind = 0; kind < 10; kind++) {
            for (int rep = 0; rep < 12; rep++) {
                float[] x = new float[2048];
                for (int i = 0; i < x.length; i++) {
                    double g = r.nextDouble() * 2 - 1;
                    x[i] = (float) switch (kind) {
                        case 0 -> g;                                              // uniform
                        case 1 -> gaussian(r) * 0.02;                             // trained-weight scale
                        case 2 -> gaussian(r) * (r.nextInt(50) == 0 ? 30 : 1);    // outliers
                        case 3 -> Math.abs(g) + 0.5;                              // all positive: the min clamps to 0
                        case 4 -> -Math.abs(g) - 0.5;                             // all negative
                        case 5 -> r.nextInt(8) == 0 ? g : 0;                      // mostly zero
                        case 6 -> g * 1e-8;                                       // tiny
                        case 7 -> (i / 16) % 3 == 0 ? 0 : g;                      // whole zero sub-blocks
                        case 8 -> (i / 256) % 2 == 0 ? 0.25 : g * 1e3;            // constant blocks, large values
                        default -> Math.round(g * 7) / 7.0;                       // values on a grid (ties)
                    };
                }
                rows.add(x);
            }
        }
        float[] zeros = new float[2048];
        rows.add(zeros);
        return rows;
    }

    private static double gaussian(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }

    @Test
    void quantizersWriteTheBytesGgmlWrites() throws Throwable {
        for (WeightType t : TYPES) {
            int blocks = 0, identical = 0;
            for (float[] x : rows(1)) {
                byte[] ours = Quantizer.encode(t, x);
                byte[] theirs = ggml.quantize("quantize_row_" + suffix(t) + "_ref", x, ours.length);
                for (int b = 0; b < ours.length / t.blockBytes; b++) {
                    blocks++;
                    if (java.util.Arrays.equals(ours, b * t.blockBytes, (b + 1) * t.blockBytes, theirs, b * t.blockBytes, (b + 1) * t.blockBytes)) {
                        identical++;
                    }
                }
            }
            System.out.printf("%s: %d of %d super-blocks byte-identical to quantize_row_%s_ref%n", t, identical, blocks, suffix(t));
            assertEquals(blocks, identical, t + " super-blocks differing from GGML's");
        }
    }

    @Test
    void dequantizationMatchesGgmlBitForBit() throws Throwable {
        SplittableRandom r = new SplittableRandom(2);
        for (WeightType t : TYPES) {
            int blocks = 64;
            byte[] data = new byte[blocks * t.blockBytes];
            for (int i = 0; i < data.length; i++) data[i] = (byte) r.nextInt(256);
            // Any bytes are a valid block except non-finite fp16 scales: give each a random finite half.
            for (int b = 0; b < blocks; b++) {
                int[] halves = t == WeightType.Q6_K ? new int[]{208} : new int[]{0, 2};
                for (int h : halves) {
                    short v = Float.floatToFloat16((float) ((r.nextDouble() * 2 - 1) * 0.05));
                    data[b * t.blockBytes + h] = (byte) v;
                    data[b * t.blockBytes + h + 1] = (byte) (v >> 8);
                }
            }
            float[] ours = new float[blocks * 256];
            Tensor.dequantize(t, MemorySegment.ofArray(data), 0, ours, 0, ours.length);
            float[] theirs = ggml.dequantize("dequantize_row_" + suffix(t), data, ours.length);
            int exact = 0;
            for (int i = 0; i < ours.length; i++) if (Float.floatToIntBits(ours[i]) == Float.floatToIntBits(theirs[i])) exact++;
            System.out.printf("%s: %d of %d dequantized values bit-identical to dequantize_row_%s%n", t, exact, ours.length, suffix(t));
            assertArrayEquals(theirs, ours, t + " dequantization");
        }
    }

    /** Q8_K activations as GGML's block_q8_K bytes: float d, 256 int8, 16 int16 sums. */
    private static byte[] q8kBlocks(Q8KActivations a, int blocks) {
        var buf = java.nio.ByteBuffer.allocate(blocks * 292).order(ByteOrder.LITTLE_ENDIAN);
        for (int b = 0; b < blocks; b++) {
            buf.putFloat(a.scales()[b]);
            buf.put(a.values(), b * 256, 256);
            for (int g = 0; g < 16; g++) buf.putShort((short) a.sums()[b * 16 + g]);
        }
        return buf.array();
    }

    @Test
    void activationQuantizationMatchesGgml() throws Throwable {
        int rows = 0;
        for (float[] x : rows(3)) {
            Q8KActivations ours = new Q8KActivations().quantize(new CpuAct(x, 0, 1, x.length), 1);
            byte[] theirs = ggml.quantize("quantize_row_q8_K", x, x.length / 256 * 292);
            assertArrayEquals(theirs, q8kBlocks(ours, x.length / 256), "row " + rows);
            rows++;
        }
        System.out.println(rows + " activation rows quantized to Q8_K identically to quantize_row_q8_K");
    }

    @Test
    void dotProductsTrackGgml() throws Throwable {
        SplittableRandom r = new SplittableRandom(4);
        for (WeightType t : TYPES) {
            double worst = 0;
            int bitIdentical = 0, count = 0;
            for (int n : new int[]{256, 512, 2048, 4096, 11008}) {
                for (int rep = 0; rep < 20; rep++) {
                    float[] w = new float[n], x = new float[n];
                    for (int i = 0; i < n; i++) {
                        w[i] = (float) (gaussian(r) * 0.02);
                        x[i] = (float) (gaussian(r) * (r.nextInt(64) == 0 ? 20 : 1));
                    }
                    byte[] wq = Quantizer.encode(t, w);
                    Q8KActivations act = new Q8KActivations().quantize(new CpuAct(x, 0, 1, n), 1);
                    MemorySegment seg = MemorySegment.ofArray(wq);
                    float reference = switch (t) {
                        case Q4_K -> act.dotQ4_K(seg, 0, 0);
                        case Q5_K -> act.dotQ5_K(seg, 0, 0);
                        default -> act.dotQ6_K(seg, 0, 0);
                    };
                    float theirs = ggml.dot("ggml_vec_dot_" + suffix(t) + "_q8_K", n, wq, q8kBlocks(act, n / 256));
                    float[] widened = new float[n];
                    Tensor.dequantize(t, seg, 0, widened, 0, n);
                    double scale = 0;
                    for (int i = 0; i < n; i++) scale += Math.abs((double) widened[i] * x[i]);
                    double err = Math.abs(reference - theirs) / scale;
                    worst = Math.max(worst, err);
                    if (reference == theirs) bitIdentical++;
                    count++;
                    assertTrue(err < 1e-5, t + " n=" + n + ": Longbow " + reference + ", GGML " + theirs);
                }
            }
            System.out.printf("%s: %d of %d dot products bit-identical to ggml_vec_dot_%s_q8_K (AVX2 build), worst difference %.2e of sum |w*x|%n",
                    t, bitIdentical, count, suffix(t), worst);
        }
    }
}
