package dev.longbow.model;

import dev.longbow.TestData;
import dev.longbow.api.GenerateRequest;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.engine.SamplerParams;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Chunked prefill: how many prompt tokens go through the model at once changes rounding only, never the result. */
class PrefillChunkTest {
    @Test
    void logitsDoNotDependOnTheChunkSize() {
        int n = 150;
        int[] tokens = new int[n];
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < n; i++) tokens[i] = 3 + random.nextInt(500);
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(2)) {
            Transformer model = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), "stories260K"));
            float[] oneByOne = run(model, ops, tokens, 1);
            for (int chunk : new int[]{4, 7, 32, 64, 150}) {
                float[] chunked = run(model, ops, tokens, chunk);
                double diff = 0, range = 0;
                for (int i = 0; i < chunked.length; i++) {
                    diff = Math.max(diff, Math.abs(chunked[i] - oneByOne[i]));
                    range = Math.max(range, Math.abs(oneByOne[i]));
                }
                assertTrue(diff / range < 1e-4, "chunk " + chunk + ": logits differ by " + diff + " of " + range);
            }
        }
    }

    private static float[] run(Transformer model, CpuOps ops, int[] tokens, int chunk) {
        float[] logits = new float[model.config().vocabSize()];
        try (Transformer.State s = model.newState(ops, tokens.length, chunk)) {
            int[] buffer = new int[chunk];
            for (int pos = 0; pos < tokens.length; pos += chunk) {
                int k = Math.min(chunk, tokens.length - pos);
                System.arraycopy(tokens, pos, buffer, 0, k);
                model.forward(ops, s, buffer, k, pos, logits);
            }
        }
        return logits;
    }

    @Test
    void greedyTextIsTheSameWithAnyPrefillChunk() {
        String prompt = "Once upon a time, there was a little girl named Lily. She liked to play outside with her dog. ".repeat(4);
        int[] first = null;
        for (int chunk : new int[]{1, 5, 32, 512}) {
            LoadOptions options = LoadOptions.DEFAULT.withThreads(2).withContext(ContextOptions.DEFAULT.withPrefillChunk(chunk));
            try (Model model = Longbow.load(TestData.bundledModel(), options)) {
                int[] tokens = model.generate(new GenerateRequest(prompt, 60, SamplerParams.GREEDY, true, false, false, new AtomicBoolean())).tokens();
                if (first == null) first = tokens;
                else assertArrayEquals(first, tokens, "prefill chunk " + chunk);
            }
        }
    }
}
