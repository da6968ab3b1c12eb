package dev.longbow.backend.cpu;

import dev.longbow.tensor.CompressedLayout;
import dev.longbow.tensor.Quantizer;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compressed-weight kernels ({@link CompressedKernels}) against their scalar references, directly and through
 * {@link CpuOps#matmul} (decode: one token; prefill: several, through the outer-product tiles at 3 to 33 tokens), on
 * random matrices with row lengths that leave tails (a multiple of 4 but not of 8 included). Tolerance: the kernels
 * reorder float sums only (W8A8's integer sums are exact), so 1e-5 of the sum of |w·x| terms.
 */
class CompressedKernelsTest {
    private static final int[] COLS = {4, 12, 44, 64, 172, 256, 1028};
    private static final List<WeightType> TYPES = List.of(WeightType.I8_ROW, WeightType.I8_ROW_A8, WeightType.S24_F16, WeightType.S24_I8);

    private static float[] random(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        for (int i = 0; i < n / 64; i++) v[r.nextInt(n)] *= 20;
        return v;
    }

    private static Tensor tensor(WeightType t, float[] w, int rows, int cols) {
        return new Tensor("w", t, new long[]{rows, cols}, MemorySegment.ofArray(CompressedLayout.encode(t, w, rows, cols, null)));
    }

    private static void assertClose(double expected, double actual, double scale, String what) {
        double tol = 1e-5 * scale + 1e-6;
        assertTrue(Math.abs(expected - actual) <= tol, what + ": expected " + expected + " got " + actual + " (tolerance " + tol + ")");
    }

    @Test
    void fourRowKernelsGiveEachRowsSingleRowResultBitForBit() {
        org.junit.jupiter.api.Assumptions.assumeTrue(VectorKernels.SUPPORTED, "no 256-bit vectors here");
        SplittableRandom r = new SplittableRandom(4);
        WeightType t = WeightType.I8_ROW;
        int quarter = 3, rows = 4 * quarter;
        for (int cols : COLS) {
            float[] x = random(r, cols);
            MemorySegment data = tensor(t, random(r, rows * cols), rows, cols).data();
            int first = 2; // the last row of each quarter
            float[] out = new float[rows];
            CompressedKernels.dotI8x4(data, CompressedLayout.valuesOffset(t, cols, first), CompressedLayout.valuesOffset(t, cols, quarter),
                    x, 0, cols, out, first, quarter);
            for (int k = 0; k < 4; k++) {
                int row = first + k * quarter;
                float single = CompressedKernels.dotI8(data, CompressedLayout.valuesOffset(t, cols, row), x, 0, cols);
                assertEquals(Float.floatToIntBits(single), Float.floatToIntBits(out[row]), "cols=" + cols + " row " + row);
            }
            for (int row = 0; row < rows; row++) {
                if ((row - first) % quarter != 0) assertEquals(0f, out[row], "wrote row " + row);
            }
        }
    }

    @Test
    void kernelsMatchScalarReferences() {
        SplittableRandom r = new SplittableRandom(3);
        int rows = 5;
        for (int cols : COLS) {
            float[] w = random(r, rows * cols), x = random(r, cols);
            for (WeightType t : List.of(WeightType.I8_ROW, WeightType.S24_F16, WeightType.S24_I8)) {
                Tensor tensor = tensor(t, w, rows, cols);
                float[] row = new float[cols];
                for (int k = 0; k < rows; k++) {
                    float expected = CompressedKernels.reference(t, tensor.data(), rows, cols, k, row, x, 0);
                    double scale = 0;
                    for (int j = 0; j < cols; j++) scale += Math.abs(row[j] * x[j]);
                    long values = CompressedLayout.valuesOffset(t, cols, k);
                    float got = switch (t) {
                        case I8_ROW -> CompressedKernels.dotI8(tensor.data(), values, x, 0, cols) * CompressedLayout.scale(tensor.data(), t, rows, cols, k);
                        case S24_F16 -> CompressedKernels.dotS24F16(tensor.data(), values, CompressedLayout.indexOffset(t, rows, cols, k), x, 0, cols);
                        default -> CompressedKernels.dotS24I8(tensor.data(), values, CompressedLayout.indexOffset(t, rows, cols, k), x, 0, cols)
                                * CompressedLayout.scale(tensor.data(), t, rows, cols, k);
                    };
                    assertClose(expected, got, scale, t + " cols=" + cols + " row " + k);
                }
            }
            // W8A8: the integer sum is exact, so the kernel equals the reference bit for bit.
            byte[] a = new byte[cols];
            for (int j = 0; j < cols; j++) a[j] = (byte) (r.nextInt(255) - 127);
            Tensor t8 = tensor(WeightType.I8_ROW_A8, w, rows, cols);
            for (int k = 0; k < rows; k++) {
                float scale = CompressedLayout.scale(t8.data(), WeightType.I8_ROW_A8, rows, cols, k);
                assertEquals(CompressedKernels.referenceI8I8(t8.data(), rows, cols, k, a, 0, 0.5f),
                        CompressedKernels.dotI8I8(t8.data(), CompressedLayout.valuesOffset(WeightType.I8_ROW_A8, cols, k), a, 0, cols) * scale * 0.5f,
                        "W8A8 cols=" + cols);
            }
        }
    }

    /**
     * 2:4 INT8 in short lanes: against the scalar sums of the same Q8_K activations (float order only: 1e-5), and
     * against float activations within what their 8-bit rounding moves (half a step of each 256-block's scale times
     * the sum of |w|).
     */
    @Test
    void sparseInt8ShortLaneKernelMatchesItsReference() {
        org.junit.jupiter.api.Assumptions.assumeTrue(CompressedKernels.S24_I8_SHORT_LANES, "no 512-bit vectors here");
        SplittableRandom r = new SplittableRandom(6);
        int rows = 4;
        WeightType t = WeightType.S24_I8;
        for (int cols : new int[]{256, 512, 2048, 8192}) {
            Tensor tensor = tensor(t, random(r, rows * cols), rows, cols);
            float[] dense = tensor.toFloatArray();
            int n = 2;
            float[] x = random(r, n * cols);
            Q8KActivations q8k = new Q8KActivations().quantize(new CpuAct(x, 0, n, cols), n);
            for (int tok = 0; tok < n; tok++) {
                for (int k = 0; k < rows; k++) {
                    float got = CompressedKernels.dotS24I8Q8K(tensor.data(), CompressedLayout.valuesOffset(t, cols, k), CompressedLayout.indexOffset(t, rows, cols, k),
                            q8k.values(), q8k.valueOffset(tok), q8k.scales(), q8k.scaleOffset(tok), cols) * CompressedLayout.scale(tensor.data(), t, rows, cols, k);
                    float same = CompressedKernels.referenceS24I8Q8K(tensor.data(), rows, cols, k, q8k.values(), q8k.valueOffset(tok), q8k.scales(), q8k.scaleOffset(tok));
                    double scale = 0, rounding = 0, exact = 0;
                    for (int j = 0; j < cols; j++) {
                        scale += Math.abs(dense[k * cols + j] * x[tok * cols + j]);
                        rounding += Math.abs(dense[k * cols + j]) * Math.abs(q8k.scales()[q8k.scaleOffset(tok) + j / 256]) / 2;
                        exact += (double) dense[k * cols + j] * x[tok * cols + j];
                    }
                    assertClose(same, got, scale, "cols=" + cols + " token " + tok + " row " + k);
                    assertTrue(Math.abs(exact - got) <= rounding * 1.001 + 1e-5 * scale,
                            "cols=" + cols + " row " + k + ": float activations give " + exact + ", Q8_K " + got + " (rounding bound " + rounding + ")");
                }
            }
        }
    }

    /**
     * A whole model in 2:4 INT8 (the tiny-256 shape, every row a multiple of 256): the vector backend, which
     * quantizes activations to Q8_K for it, against the reference kernels' float activations.
     */
    @Test
    void sparseInt8ModelLogitsStayCloseToFloatActivations(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path dense = dir.resolve("tiny-f16.gguf"), sparse = dir.resolve("tiny-s24-i8.gguf");
        dev.longbow.convert.Synth.write(dev.longbow.convert.Synth.shape("tiny-256"), WeightType.F16, 11, dense);
        try (dev.longbow.format.ModelFile f = dev.longbow.format.ModelLoader.open(dense)) {
            java.util.Map<String, WeightType> types = new java.util.HashMap<>();
            for (String n : dev.longbow.compress.LinearLayers.names(f)) types.put(n, WeightType.S24_I8);
            dev.longbow.convert.GgufConverter.convert(f, dev.longbow.tokenizer.Tokenizers.forModel(f, null), WeightType.F16, sparse,
                    new dev.longbow.convert.GgufConverter.Overrides(types, t -> null, java.util.Map.of(), java.util.Map.of()));
        }
        int[] tokens = {1, 30, 50, 123, 200, 77, 42, 90, 150, 250, 11, 5};
        try (dev.longbow.format.ModelFile f = dev.longbow.format.ModelLoader.open(sparse)) {
            float[][] reference = dev.longbow.Logits.of(f, tokens, CpuOps.Kernels.REFERENCE), vector = dev.longbow.Logits.of(f, tokens, CpuOps.Kernels.VECTOR);
            double cosine = dev.longbow.Logits.minCosine(reference, vector), diff = dev.longbow.Logits.maxAbsDiff(reference, vector), scale = 0;
            for (float[] row : reference) for (float v : row) scale = Math.max(scale, Math.abs(v));
            System.out.printf("S24_I8 tiny-256: float vs Q8_K activations, logits differ by at most %.2e (largest logit %.2f), min cosine %.6f%n",
                    diff, scale, cosine);
            assertTrue(cosine > 0.999, "logits cosine " + cosine);
        }
    }

    @Test
    void matmulDecodeAndPrefillMatchTheReferenceBackend() {
        SplittableRandom r = new SplittableRandom(5);
        int rows = 37;
        try (CpuOps vector = new CpuOps(2, CpuOps.Kernels.VECTOR); CpuOps reference = new CpuOps(1, CpuOps.Kernels.REFERENCE)) {
            for (int cols : new int[]{44, 64, 256}) {
                float[] w = random(r, rows * cols);
                for (WeightType t : TYPES) {
                    Tensor tensor = tensor(t, w, rows, cols);
                    for (int n : new int[]{1, 3, 9, 33}) {
                        float[] x = random(r, n * cols);
                        float[] want = run(reference, tensor, x, n, cols, rows), got = run(vector, tensor, x, n, cols, rows);
                        if (t == WeightType.S24_I8 && CompressedKernels.S24_I8_SHORT_LANES && cols % 256 == 0) {
                            // The vector backend quantizes the activations to Q8_K for 2:4 INT8 here, decode and prefill.
                            Q8KActivations q8k = new Q8KActivations().quantize(new CpuAct(x, 0, n, cols), n);
                            for (int tok = 0; tok < n; tok++) {
                                for (int k = 0; k < rows; k++) {
                                    want[tok * rows + k] = CompressedKernels.referenceS24I8Q8K(tensor.data(), rows, cols, k, q8k.values(), q8k.valueOffset(tok),
                                            q8k.scales(), q8k.scaleOffset(tok));
                                }
                            }
                        }
                        float[] dense = tensor.toFloatArray();
                        for (int tok = 0; tok < n; tok++) {
                            for (int k = 0; k < rows; k++) {
                                double scale = 0;
                                for (int j = 0; j < cols; j++) scale += Math.abs(dense[k * cols + j] * x[tok * cols + j]);
                                // W8A8's prefill widens int8 activations to float: the same values, summed in another order.
                                assertClose(want[tok * rows + k], got[tok * rows + k], scale, t + " cols=" + cols + " n=" + n);
                            }
                        }
                    }
                }
            }
        }
    }

    /** A 2:4 matrix gives what a dense matrix holding its decompressed values gives, decode and prefill. */
    @Test
    void sparseMatmulEqualsDenseMatmulOfTheDecompressedWeights() {
        SplittableRandom r = new SplittableRandom(9);
        int rows = 20, cols = 128;
        try (CpuOps ops = new CpuOps(2, CpuOps.Kernels.VECTOR)) {
            float[] w = random(r, rows * cols);
            for (WeightType sparse : List.of(WeightType.S24_F16, WeightType.S24_I8)) {
                Tensor s = tensor(sparse, w, rows, cols);
                float[] decompressed = s.toFloatArray();
                int zeros = 0;
                for (float v : decompressed) if (v == 0) zeros++;
                assertTrue(zeros >= rows * cols / 2, sparse + ": " + zeros + " zeros");
                // F16 2:4 meets F16-rounded activations, as dense F16 does; the INT8 values times scales are F32 exactly.
                WeightType denseType = sparse == WeightType.S24_F16 ? WeightType.F16 : WeightType.F32;
                Tensor dense = new Tensor("d", denseType, new long[]{rows, cols}, MemorySegment.ofArray(Quantizer.encode(denseType, decompressed)));
                for (int n : new int[]{1, 8, 33}) {
                    float[] x = random(r, n * cols);
                    float[] a = run(ops, s, x, n, cols, rows), b = run(ops, dense, x, n, cols, rows);
                    for (int i = 0; i < a.length; i++) {
                        double scale = 0;
                        for (int j = 0; j < cols; j++) scale += Math.abs(decompressed[(i % rows) * cols + j] * x[(i / rows) * cols + j]);
                        assertClose(b[i], a[i], scale, sparse + " vs dense, n=" + n);
                    }
                }
            }
        }
    }

    static float[] run(CpuOps ops, Tensor w, float[] x, int n, int cols, int rows) {
        CpuAct in = (CpuAct) ops.allocate(n, cols), out = (CpuAct) ops.allocate(n, rows);
        System.arraycopy(x, 0, in.data(), 0, n * cols);
        ops.matmul(out, in, w, null, n);
        float[] res = new float[n * rows];
        System.arraycopy(out.data(), 0, res, 0, n * rows);
        return res;
    }
}
