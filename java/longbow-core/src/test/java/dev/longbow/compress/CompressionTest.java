package dev.longbow.compress;

import dev.longbow.LongbowException;
import dev.longbow.TestData;
import dev.longbow.api.GenerateRequest;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.backend.Act;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.format.Gguf;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.tensor.CompressedLayout;
import dev.longbow.tensor.Quantizer;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Calibration, INT8 compression with smoothing, and 2:4 pruning on the sample model. */
class CompressionTest {
    @TempDir
    Path dir;

    /** About 2,400 tokens of TinyStories-like text for the sample model. */
    static Path story(Path dir) throws Exception {
        String s = """
                Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.
                One day, she saw a big red ball under a tree. Lily was very happy and she ran to get it. Her mom said, "Be careful!"
                Tom was sad because his toy car was broken. His dad helped him fix it, and they played together until dinner.
                The cat jumped on the bed and went to sleep. The dog barked at the bird in the garden, but the bird flew away.

                """;
        Path p = dir.resolve("story.txt");
        Files.writeString(p, s.repeat(14));
        return p;
    }

    /** Per-layer calibration inputs (with Gram matrices) of the sample model's first two blocks. */
    private static Map<String, ActivationStats> inputs(Workbench wb, Path text, List<String> names) {
        RecordingOps rec = new RecordingOps(wb.ops);
        Map<String, ActivationStats> m = new java.util.LinkedHashMap<>();
        for (String n : names) m.put(n, rec.watch(wb.file.tensor(n), true));
        wb.perplexity(wb.transformer(Map.of()), rec, wb.tokens(text, 1024));
        return m;
    }

    @Test
    void sparseGptReconstructsBetterThanWandaAndMagnitudeAndKeepsTwoOfFour() throws Exception {
        Path text = story(dir);
        List<String> names = List.of("blk.1.ffn_up.weight", "blk.1.attn_q.weight", "blk.3.ffn_down.weight");
        try (Workbench wb = new Workbench(TestData.bundledModel(), 1)) {
            Map<String, ActivationStats> stats = inputs(wb, text, names);
            for (String n : names) {
                Tensor t = wb.file.tensor(n);
                int rows = t.rows(), cols = t.cols();
                float[] w = t.toFloatArray();
                double[] h = stats.get(n).symmetricGram();
                float[] sg = Pruning.sparseGpt(w, rows, cols, h, 0.01, 128, null);
                float[] wa = Pruning.wanda(w, rows, cols, stats.get(n).sumSquares);
                float[] mg = Pruning.magnitude(w, rows, cols);
                for (float[] p : List.of(sg, wa, mg)) {
                    for (int g = 0; g < p.length; g += 4) {
                        int zeros = 0;
                        for (int j = 0; j < 4; j++) if (p[g + j] == 0) zeros++;
                        assertEquals(2, zeros, n + " group " + g / 4);
                    }
                }
                double eSg = Pruning.reconstructionError(w, sg, rows, cols, h), eWa = Pruning.reconstructionError(w, wa, rows, cols, h),
                        eMg = Pruning.reconstructionError(w, mg, rows, cols, h);
                assertTrue(eSg < eMg && eSg < eWa, n + ": ||WX - W'X||^2 sparsegpt " + eSg + ", wanda " + eWa + ", magnitude " + eMg);
                // Joint INT8: every kept value is its row scale times an integer, and the error stays near the float one.
                float[] scales = CompressedLayout.rowScales(w, rows, cols);
                float[] sq = Pruning.sparseGpt(w, rows, cols, h, 0.01, 128, scales);
                for (int i = 0; i < sq.length; i++) {
                    float steps = sq[i] / scales[i / cols];
                    assertEquals(Math.round(steps), steps, 1e-3, n + " value " + i + " is not on the INT8 grid");
                }
                double eSq = Pruning.reconstructionError(w, sq, rows, cols, h);
                assertTrue(eSq < eMg, n + ": joint INT8 sparsegpt " + eSq + " vs magnitude " + eMg);
            }
        }
    }

    @Test
    void sparseGptBlocksGiveTheSameResultAsOneBlock() throws Exception {
        try (Workbench wb = new Workbench(TestData.bundledModel(), 1)) {
            String n = "blk.2.ffn_down.weight";
            Map<String, ActivationStats> stats = inputs(wb, story(dir), List.of(n));
            Tensor t = wb.file.tensor(n);
            float[] w = t.toFloatArray();
            double[] h = stats.get(n).symmetricGram();
            float[] one = Pruning.sparseGpt(w, t.rows(), t.cols(), h, 0.01, 256, null);
            float[] blocked = Pruning.sparseGpt(w, t.rows(), t.cols(), h, 0.01, 32, null);
            for (int i = 0; i < w.length; i++) assertEquals(one[i], blocked[i], 1e-4 * (1 + Math.abs(one[i])), "weight " + i);
        }
    }

    /** SmoothQuant folded into the norm gives what dividing the norm's output by s and quantizing it gives. */
    @Test
    void w8a8WithSmoothingFoldedEqualsTheUnfoldedComputation() {
        SplittableRandom r = new SplittableRandom(2);
        int dim = 64, rows = 24, tokens = 3;
        float[] g = new float[dim], w = new float[rows * dim], x = new float[tokens * dim];
        for (int j = 0; j < dim; j++) g[j] = (float) (0.5 + r.nextDouble());
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() * 0.1);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int t = 0; t < tokens; t++) x[t * dim + 5] *= 40; // an outlier channel, what smoothing is for
        double[] absMax = new double[dim];
        for (int i = 0; i < x.length; i++) absMax[i % dim] = Math.max(absMax[i % dim], Math.abs(x[i] * g[i % dim]));
        float[] s = Smoothing.factors(absMax, new float[][]{w}, dim, 0.5);
        float[] gFolded = Smoothing.foldIntoNorm(g, s), wScaled = Smoothing.scaleColumns(w, s);
        try (CpuOps ops = new CpuOps(1)) {
            Act in = ops.allocate(tokens, dim), normed = ops.allocate(tokens, dim), out = ops.allocate(tokens, rows);
            // The activations enter as rows of an embedding table: the backend's own way to fill them.
            ops.embed(in, new Tensor("x", WeightType.F32, new long[]{tokens, dim}, MemorySegment.ofArray(Quantizer.encode(WeightType.F32, x))),
                    new int[]{0, 1, 2}, tokens);
            Tensor a8 = new Tensor("w", WeightType.I8_ROW_A8, new long[]{rows, dim},
                    MemorySegment.ofArray(CompressedLayout.encode(WeightType.I8_ROW_A8, wScaled, rows, dim, null)));
            ops.rmsnorm(normed, in, vector(gFolded), 1e-5f, tokens);
            ops.matmul(out, normed, a8, null, tokens);
            float[] row = new float[rows], unfolded = new float[dim];
            float[] qScales = CompressedLayout.rowScales(wScaled, rows, dim);
            for (int t = 0; t < tokens; t++) {
                ops.read(out, t, row);
                // Unfolded: the plain norm, then x / s, per-token int8, against the smoothed int8 weights.
                double ss = 0;
                for (int j = 0; j < dim; j++) ss += x[t * dim + j] * x[t * dim + j];
                float inv = (float) (1 / Math.sqrt(ss / dim + 1e-5));
                float amax = 0;
                for (int j = 0; j < dim; j++) {
                    unfolded[j] = g[j] * (inv * x[t * dim + j]) / s[j];
                    amax = Math.max(amax, Math.abs(unfolded[j]));
                }
                float xs = amax / 127;
                for (int i = 0; i < rows; i++) {
                    double want = 0, scale = 0;
                    for (int j = 0; j < dim; j++) {
                        want += (double) CompressedLayout.quantize(wScaled[i * dim + j], qScales[i]) * CompressedLayout.quantize(unfolded[j], xs);
                        scale += Math.abs(wScaled[i * dim + j] * unfolded[j]);
                    }
                    want *= qScales[i] * xs;
                    // Folding moves one division by s_j before the norm's multiply: a rounding difference that may move
                    // an activation across a rounding boundary, one int8 step of one channel at most.
                    assertEquals(want, row[i], 2e-3 * scale + 1e-6, "token " + t + " row " + i);
                }
            }
        }
    }

    private static Tensor vector(float[] v) {
        return new Tensor("v", WeightType.F32, new long[]{v.length}, MemorySegment.ofArray(Quantizer.encode(WeightType.F32, v)));
    }

    @Test
    void calibratedPlanCompressesLoadsAndGenerates() throws Exception {
        Path text = story(dir), planFile = dir.resolve("plan.json");
        CompressionPlan plan = Calibrator.calibrate(TestData.bundledModel(), text, new Calibrator.Options(512, 0.001, false, 1), s -> {});
        assertEquals(35, plan.layers().size());
        for (CompressionPlan.Layer l : plan.layers()) {
            if (LinearLayers.attention(l.name())) assertEquals(CompressionPlan.Precision.FP16, l.precision(), l.name());
            else assertEquals(l.sensitivity() > 0.001 ? CompressionPlan.Precision.FP16 : CompressionPlan.Precision.INT8, l.precision(), l.name());
            assertTrue(l.hessianProxy() > 0 && l.inputAbsMax().length == l.cols(), l.name());
        }
        plan.write(planFile);
        CompressionPlan back = CompressionPlan.read(planFile);
        assertEquals(plan.layers().size(), back.layers().size());
        assertEquals(plan.layers().get(4).precision(), back.layers().get(4).precision());

        try (Model fp = Longbow.load(TestData.bundledModel(), LoadOptions.DEFAULT.withThreads(2))) {
            String want = fp.generate(GenerateRequest.of("Once upon a time", 24)).text();
            int[] eval = fp.tokenizer().encode(Files.readString(text), false);
            eval = java.util.Arrays.copyOf(eval, 600);
            double base = fp.perplexity(eval, 511).perplexity();
            for (Compressor.Mode mode : Compressor.Mode.values()) {
                Path out = dir.resolve(mode + ".gguf");
                Compressor.compress(TestData.bundledModel(), back, planFile.toString(), mode, 0.5, out);
                try (Model m = Longbow.load(out, LoadOptions.DEFAULT.withThreads(2))) {
                    assertTrue(m.metadata().get("longbow.compression").asString().contains(mode.name().toLowerCase()));
                    double ppl = m.perplexity(eval, 511).perplexity();
                    assertTrue(Math.abs(ppl / base - 1) < 0.02, mode + ": perplexity " + ppl + " vs " + base);
                    String got = m.generate(GenerateRequest.of("Once upon a time", 24)).text();
                    assertTrue(got.length() > 20, got);
                    if (mode == Compressor.Mode.W8A16) assertEquals(want, got);
                }
            }
        }
    }

    @Test
    void compressRejectsAPlanMissingALayer() throws Exception {
        Path text = story(dir);
        CompressionPlan plan = Calibrator.calibrate(TestData.bundledModel(), text, new Calibrator.Options(256, 0.001, false, 1), s -> {});
        List<CompressionPlan.Layer> fewer = new ArrayList<>(plan.layers());
        fewer.removeIf(l -> l.name().equals("blk.2.ffn_up.weight"));
        CompressionPlan broken = new CompressionPlan(plan.model(), plan.text(), plan.tokens(), plan.window(), plan.perplexity(),
                plan.threshold(), false, fewer);
        LongbowException e = assertThrows(LongbowException.class,
                () -> Compressor.compress(TestData.bundledModel(), broken, "p.json", Compressor.Mode.W8A16, 0.5, dir.resolve("x.gguf")));
        assertEquals("p.json: the plan has no entry for layer blk.2.ffn_up.weight of " + TestData.bundledModel(), e.getMessage());
        // W8A8 needs the statistics a plan carries.
        LongbowException noStats = assertThrows(LongbowException.class,
                () -> Compressor.compress(TestData.bundledModel(), null, null, Compressor.Mode.W8A8, 0.5, dir.resolve("y.gguf")));
        assertTrue(noStats.getMessage().contains("smoothing needs the calibration statistics"), noStats.getMessage());
    }

    @Test
    void badInputGetsOneLineErrors() throws Exception {
        assertEquals("unknown pruning method 'obs' (sparsegpt, wanda, magnitude)",
                assertThrows(LongbowException.class, () -> Pruning.Method.parse("obs")).getMessage());
        assertEquals("cannot prune blk.0.x.weight to 2:4: its rows have 10 values, not a multiple of 4",
                assertThrows(LongbowException.class, () -> Pruning.checkShape("blk.0.x.weight", 10)).getMessage());
        Path shortText = dir.resolve("short.txt");
        Files.writeString(shortText, "Once upon a time there was a cat.");
        LongbowException e = assertThrows(LongbowException.class,
                () -> Calibrator.calibrate(TestData.bundledModel(), shortText, Calibrator.Options.DEFAULT, s -> {}));
        assertTrue(e.getMessage().startsWith(shortText + ": the calibration text is ") && e.getMessage().endsWith("at least 256 are needed"), e.getMessage());
        assertTrue(assertThrows(LongbowException.class, () -> Pruner.prune(TestData.bundledModel(), null,
                Pruner.Options.of(Pruning.Method.SPARSEGPT, false), dir.resolve("z.gguf"), s -> {})).getMessage().contains("needs calibration text"));
    }

    @Test
    void prunedModelsStoreTwoOfFourAndLoad() throws Exception {
        Path text = story(dir);
        for (boolean int8 : new boolean[]{false, true}) {
            Path out = dir.resolve("pruned-" + int8 + ".gguf");
            Pruner.Options o = new Pruner.Options(Pruning.Method.WANDA, int8, 512, 0.01, 128, 1);
            Pruner.prune(TestData.bundledModel(), text, o, out, s -> {});
            try (ModelFile f = ModelLoader.open(out)) {
                Tensor t = f.tensor("blk.0.ffn_gate.weight");
                assertEquals(int8 ? WeightType.S24_I8 : WeightType.S24_F16, t.type());
                // F16 2:4 is 9 bits a weight, INT8 2:4 5 bits plus a 4-byte scale per row.
                long expected = int8 ? (long) t.rows() * t.cols() * 5 / 8 + 4L * t.rows() : (long) t.rows() * t.cols() * 9 / 8;
                assertEquals(expected, t.data().byteSize());
                float[] v = t.toFloatArray();
                for (int g = 0; g < v.length; g += 4) {
                    int zeros = 0;
                    for (int j = 0; j < 4; j++) if (v[g + j] == 0) zeros++;
                    assertTrue(zeros >= 2, "group " + g / 4 + " keeps " + (4 - zeros));
                }
            }
            try (Model m = Longbow.load(out, LoadOptions.DEFAULT.withThreads(2))) {
                assertTrue(m.generate(GenerateRequest.of("Once upon a time", 16)).generatedTokens() > 0);
            }
        }
    }

    /** A reader meeting a type id from a newer extension says which and what it is, in one line. */
    @Test
    void unknownExtensionTypeIsNamed() throws Exception {
        Path out = dir.resolve("w8.gguf");
        Compressor.compress(TestData.bundledModel(), null, null, Compressor.Mode.W8A16, 0.5, out);
        byte[] bytes = Files.readAllBytes(out);
        byte[] name = "blk.0.ffn_gate.weight".getBytes(StandardCharsets.UTF_8);
        int at = indexOf(bytes, name);
        int typeAt = at + name.length + 4 + 2 * 8; // name, n_dims, two dims
        assertEquals(WeightType.I8_ROW.ggmlId, java.nio.ByteBuffer.wrap(bytes, typeAt, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt());
        java.nio.ByteBuffer.wrap(bytes, typeAt, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(1042);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(bytes.length);
            MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
            LongbowException e = assertThrows(LongbowException.class, () -> Gguf.read(seg, "w8.gguf"));
            assertEquals("w8.gguf: tensor 'blk.0.ffn_gate.weight' has type id 1042 from a newer Longbow compression extension "
                    + "(longbow.compression) than this reader knows", e.getMessage());
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }
}
