package dev.longbow.cuda.gpu;

import dev.longbow.api.Longbow;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.cuda.GpuDrivers;
import dev.longbow.cuda.ops.CudaOps;
import dev.longbow.cuda.reference.ArgmaxReference;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.model.ModelWeights;
import dev.longbow.model.Transformer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole model on the CUDA backend against the CPU backend, through the same Transformer code: stories260K (the
 * bundled model: dim 64, 8 heads of 8, 4 KV heads, hidden 172, so the decode attention kernel at head dim 8 and both
 * matmul paths), a 40-token prefill then 30 greedy decode steps. Each step's logits within 1% of the CPU's logit
 * range (the GPU holds the weights in F16, the CPU reads the file's F32) and the same greedy token. Run twice: each
 * op launched as it comes, and the one-token steps as CUDA Graphs (-Dlongbow.cuda.graphs=true: the first step runs
 * directly, the second is captured, and it and the 28 after it run as the graph).
 */
class ModelEquivalenceTest {
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void stories260kPrefillAndDecodeMatchTheCpu(boolean graphs) {
        prefillAndDecodeMatchTheCpu(Longbow.defaultModel(), graphs);
    }

    /**
     * stories260K with every linear layer compressed: INT8 rows stay INT8 on the device (gemv_i8_row for decode; for
     * prefill, W8A16 widened to F16 for the F16 GEMM, W8A8 through quantize_rows_i8 and the INT8 GEMM where rows are
     * a multiple of 64), 2:4 stays compressed (gemv_s24_* for decode, widened for prefill); the CPU runs its own
     * kernels on the same bytes.
     */
    @ParameterizedTest
    @ValueSource(strings = {"I8_ROW", "I8_ROW_A8", "S24_F16", "S24_I8"})
    void compressedPrefillAndDecodeMatchTheCpu(String type, @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        Gpu.kernels(); // skips without a GPU
        java.nio.file.Path file = dir.resolve(type + ".gguf");
        try (ModelFile f = ModelLoader.open(Longbow.defaultModel())) {
            java.util.Map<String, dev.longbow.tensor.WeightType> types = new java.util.HashMap<>();
            for (String n : dev.longbow.compress.LinearLayers.names(f)) types.put(n, dev.longbow.tensor.WeightType.valueOf(type));
            dev.longbow.convert.GgufConverter.convert(f, dev.longbow.tokenizer.Tokenizers.forModel(f, null), dev.longbow.tensor.WeightType.F16, file,
                    new dev.longbow.convert.GgufConverter.Overrides(types, t -> null, java.util.Map.of(), java.util.Map.of()));
        }
        prefillAndDecodeMatchTheCpu(file, false);
    }

    private static void prefillAndDecodeMatchTheCpu(java.nio.file.Path modelPath, boolean graphs) {
        Gpu.kernels(); // skips without a GPU
        String before = System.getProperty("longbow.cuda.graphs");
        System.setProperty("longbow.cuda.graphs", Boolean.toString(graphs));
        CudaOps created;
        try {
            created = new CudaOps(GpuDrivers.open(System.getProperty("longbow.gpu.binding"), 0), "test", 0);
        } finally {
            if (before == null) System.clearProperty("longbow.cuda.graphs");
            else System.setProperty("longbow.cuda.graphs", before);
        }
        try (ModelFile file = ModelLoader.open(modelPath);
             CpuOps cpu = new CpuOps(1);
             CudaOps gpu = created) {
            Transformer model = new Transformer(file.config(), ModelWeights.bind(file.config(), file.tensors(), file.path().toString()));
            int ctx = 128, vocab = file.config().vocabSize();
            try (Transformer.State sc = model.newState(cpu, ctx, 64); Transformer.State sg = model.newState(gpu, ctx, 64)) {
                Random r = new Random(5);
                int[] prompt = new int[40];
                prompt[0] = 1;
                for (int i = 1; i < prompt.length; i++) prompt[i] = 3 + r.nextInt(vocab - 3);
                float[] lc = new float[vocab], lg = new float[vocab];
                model.prepare(sc, prompt.length);
                model.prepare(sg, prompt.length);
                model.forward(cpu, sc, prompt, prompt.length, 0, lc);
                model.forward(gpu, sg, prompt, prompt.length, 0, lg);
                compare(lc, lg, "prefill");
                int pos = prompt.length;
                for (int step = 0; step < 30; step++, pos++) {
                    int next = ArgmaxReference.apply(lc, 0, vocab);
                    assertEquals(next, ArgmaxReference.apply(lg, 0, vocab), "greedy token at position " + pos);
                    model.prepare(sc, pos + 1);
                    model.prepare(sg, pos + 1);
                    model.forward(cpu, sc, new int[]{next}, 1, pos, lc);
                    model.forward(gpu, sg, new int[]{next}, 1, pos, lg);
                    compare(lc, lg, "decode at " + pos);
                }
                assertEquals(graphs ? 29 : 0, gpu.graphLaunches(), "one-token steps replayed as a graph");
            }
        }
    }

    static void compare(float[] cpu, float[] gpu, String what) {
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE, err = 0;
        for (int i = 0; i < cpu.length; i++) {
            min = Math.min(min, cpu[i]);
            max = Math.max(max, cpu[i]);
            assertTrue(!Float.isNaN(gpu[i]), what + ": NaN logit at " + i);
            err = Math.max(err, Math.abs(cpu[i] - gpu[i]));
        }
        assertTrue(err <= 0.01 * (max - min), what + ": logits differ by " + err + " (range " + (max - min) + ")");
    }
}
