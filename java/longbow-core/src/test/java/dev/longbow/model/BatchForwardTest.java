package dev.longbow.model;

import dev.longbow.TestData;
import dev.longbow.backend.KvType;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.engine.Sampler;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A batched decode step computes, for each of its sequences, what that sequence's own single-token forward computes:
 * sequences at different positions with different histories, over several steps, with any cache type and a window.
 */
class BatchForwardTest {
    @Test
    void batchedLogitsEqualEachSequenceAlone() {
        check(ContextOptions.DEFAULT, 1e-4);
    }

    @Test
    void withAnF16Cache() {
        // The batch's matmuls round differently from one row's in the last float bit; where that flips a key's or
        // value's f16 rounding (a 2^-11 step), the logits move by up to a few 1e-4 of their range.
        check(ContextOptions.DEFAULT.withKvType(KvType.F16), 1e-3);
    }

    @Test
    void withASlidingWindowAndSinks() {
        // Prompts up to 60 tokens and 6 steps: the window of 24 evicts in every sequence.
        check(ContextOptions.DEFAULT.withWindow(24, 4), 1e-4);
    }

    private static void check(ContextOptions options, double tolerance) {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(2)) {
            Transformer model = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), "stories260K"), options);
            int vocab = model.config().vocabSize();
            SplittableRandom random = new SplittableRandom(11);
            for (int b = 1; b <= 5; b++) {
                Transformer.State[] alone = new Transformer.State[b], batched = new Transformer.State[b];
                int[] next = new int[b], positions = new int[b];
                float[][] logitsAlone = new float[b][vocab], logitsBatched = new float[b][vocab];
                Transformer.BatchState batch = model.newBatchState(ops, 5);
                try {
                    for (int i = 0; i < b; i++) {
                        int length = 3 + random.nextInt(58);
                        int[] prompt = new int[length];
                        for (int t = 0; t < length; t++) prompt[t] = 3 + random.nextInt(vocab - 3);
                        alone[i] = prefilled(model, ops, prompt, logitsAlone[i]);
                        batched[i] = prefilled(model, ops, prompt, logitsBatched[i]);
                        positions[i] = length;
                    }
                    for (int step = 0; step < 6; step++) {
                        for (int i = 0; i < b; i++) next[i] = Sampler.argmax(logitsAlone[i]);
                        for (int i = 0; i < b; i++) model.forward(ops, alone[i], new int[]{next[i]}, 1, positions[i], logitsAlone[i]);
                        model.forwardBatch(ops, batch, batched, next, positions, b, logitsBatched);
                        for (int i = 0; i < b; i++) {
                            assertClose(logitsAlone[i], logitsBatched[i], tolerance, "batch of " + b + ", sequence " + i + " at position " + positions[i]);
                            positions[i]++;
                        }
                    }
                } finally {
                    for (int i = 0; i < b; i++) {
                        if (alone[i] != null) alone[i].close();
                        if (batched[i] != null) batched[i].close();
                    }
                }
            }
        }
    }

    private static Transformer.State prefilled(Transformer model, CpuOps ops, int[] prompt, float[] logits) {
        Transformer.State s = model.newState(ops, 128, 16);
        model.prepare(s, prompt.length);
        for (int pos = 0; pos < prompt.length; pos += 16) {
            int n = Math.min(16, prompt.length - pos);
            model.forward(ops, s, java.util.Arrays.copyOfRange(prompt, pos, pos + n), n, pos, logits);
        }
        return s;
    }

    private static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        double diff = 0, range = 0;
        for (int i = 0; i < expected.length; i++) {
            diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
            range = Math.max(range, Math.abs(expected[i]));
        }
        assertTrue(range > 0 && diff / range < tolerance, what + ": logits differ by " + diff + " of " + range);
    }
}
