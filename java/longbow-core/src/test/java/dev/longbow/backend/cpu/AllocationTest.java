package dev.longbow.backend.cpu;

import dev.longbow.TestData;
import dev.longbow.convert.GgufConverter;
import dev.longbow.backend.KvType;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.model.ContextOptions;
import dev.longbow.model.ModelWeights;
import dev.longbow.model.Transformer;
import dev.longbow.tensor.WeightType;
import dev.longbow.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-token path allocates nothing once warm: decode speed must not depend on the garbage collector. */
class AllocationTest {
    @TempDir
    Path dir;

    private static final com.sun.management.ThreadMXBean THREADS = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** Ids of the pool's workers, looked up before measuring (the lookup itself allocates). */
    private static long[] workerIds() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("longbow-cpu-"))
                .mapToLong(Thread::threadId).toArray();
    }

    /** Bytes allocated so far by this thread and the given workers; allocates nothing itself. */
    private static long allocated(long[] workers) {
        long sum = THREADS.getCurrentThreadAllocatedBytes();
        for (long id : workers) sum += THREADS.getThreadAllocatedBytes(id);
        return sum;
    }

    /**
     * The lowest allocation per decode step over windows of 200 steps, decoding for up to 20 seconds: the JIT takes
     * a second or two to compile the vector kernels (interpreted, the Vector API allocates), so the first windows
     * allocate and a warm engine must reach (almost) zero.
     */
    private static long bytesPerDecodeStep(Path model, int threads, int prefillChunk, ContextOptions options) {
        try (ModelFile f = ModelLoader.open(model);
             CpuOps ops = new CpuOps(threads);
             Transformer.State s = new Transformer.State(ops, f.config(), f.config().contextLength(), prefillChunk, options.kvType())) {
            Transformer t = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), f.path().toString()), options);
            float[] logits = new float[f.config().vocabSize()];
            int[] tokens = new int[prefillChunk];
            java.util.Arrays.fill(tokens, 1);
            int[] token = {1};
            long[] workers = workerIds();
            long best = Long.MAX_VALUE, deadline = System.nanoTime() + 20_000_000_000L;
            while (best >= 64 && System.nanoTime() < deadline) {
                t.forward(ops, s, tokens, prefillChunk, 0, logits); // prefill kernels stay warm too
                for (int pos = prefillChunk; pos < 300; pos++) t.forward(ops, s, token, 1, pos, logits);
                long before = allocated(workers);
                int steps = 200;
                for (int pos = 300; pos < 300 + steps; pos++) t.forward(ops, s, token, 1, pos, logits);
                best = Math.min(best, (allocated(workers) - before) / steps);
            }
            return best;
        }
    }

    @Test
    void decodeStepsAllocateNothingOnceWarm() throws Exception {
        Path q8 = dir.resolve("q8.gguf"), q4 = dir.resolve("q4.gguf");
        try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
            GgufConverter.convert(f, Tokenizers.forModel(f, null), WeightType.Q8_0, q8);
            GgufConverter.convert(f, Tokenizers.forModel(f, null), WeightType.Q4_0, q4);
        }
        for (Path model : new Path[]{TestData.bundledModel(), q8, q4}) {
            for (int threads : new int[]{1, 2}) {
                long perStep = bytesPerDecodeStep(model, threads, 16, ContextOptions.DEFAULT);
                // A few bytes of slack for counters the JVM itself may bump; a boxed vector alone is 80 bytes.
                assertTrue(perStep < 64, model.getFileName() + ", " + threads + " threads: " + perStep + " bytes allocated per decode step");
            }
        }
        // K-quants, in the smallest shape whose rows fill their super-blocks of 256.
        for (WeightType type : new WeightType[]{WeightType.Q4_K, WeightType.Q5_K, WeightType.Q6_K}) {
            Path file = dir.resolve(type + ".gguf");
            dev.longbow.convert.Synth.write(dev.longbow.convert.Synth.shape("tiny-256"), type, 7, file);
            long perStep = bytesPerDecodeStep(file, 2, 16, ContextOptions.DEFAULT);
            assertTrue(perStep < 64, type + ": " + perStep + " bytes allocated per decode step");
        }
        // Longbow's compressed weight types (INT8 rows for W8A16 and W8A8, 2:4 in F16 and INT8) on every linear layer.
        for (WeightType type : new WeightType[]{WeightType.I8_ROW, WeightType.I8_ROW_A8, WeightType.S24_F16, WeightType.S24_I8}) {
            Path file = dir.resolve(type + ".gguf");
            try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
                java.util.Map<String, WeightType> types = new java.util.HashMap<>();
                for (String n : dev.longbow.compress.LinearLayers.names(f)) types.put(n, type);
                GgufConverter.convert(f, Tokenizers.forModel(f, null), WeightType.F16, file,
                        new GgufConverter.Overrides(types, t -> null, java.util.Map.of(), java.util.Map.of()));
            }
            long perStep = bytesPerDecodeStep(file, 2, 16, ContextOptions.DEFAULT);
            assertTrue(perStep < 64, type + ": " + perStep + " bytes allocated per decode step");
        }
        // 2:4 INT8 in rows of 256 and more, where it runs in short lanes against Q8_K activations.
        Path tiny = dir.resolve("tiny-256-f16.gguf"), tinyS24 = dir.resolve("tiny-256-s24-i8.gguf");
        dev.longbow.convert.Synth.write(dev.longbow.convert.Synth.shape("tiny-256"), WeightType.F16, 7, tiny);
        try (ModelFile f = ModelLoader.open(tiny)) {
            java.util.Map<String, WeightType> types = new java.util.HashMap<>();
            for (String n : dev.longbow.compress.LinearLayers.names(f)) types.put(n, WeightType.S24_I8);
            GgufConverter.convert(f, Tokenizers.forModel(f, null), WeightType.F16, tinyS24,
                    new GgufConverter.Overrides(types, t -> null, java.util.Map.of(), java.util.Map.of()));
        }
        long s24PerStep = bytesPerDecodeStep(tinyS24, 2, 16, ContextOptions.DEFAULT);
        assertTrue(s24PerStep < 64, "S24_I8 (tiny-256): " + s24PerStep + " bytes allocated per decode step");
        // The other KV cache types; sinks with a window re-rotate sink keys and evict and reuse cache blocks as they go.
        for (ContextOptions options : new ContextOptions[]{ContextOptions.DEFAULT.withKvType(KvType.F16),
                ContextOptions.DEFAULT.withKvType(KvType.Q8).withWindow(128, 4)}) {
            long perStep = bytesPerDecodeStep(TestData.bundledModel(), 2, 16, options);
            assertTrue(perStep < 64, options.kvType() + " cache, window " + options.attentionWindow() + ": " + perStep + " bytes allocated per decode step");
        }
    }
}
