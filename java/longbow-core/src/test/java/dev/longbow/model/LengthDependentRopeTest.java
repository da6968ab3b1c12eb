package dev.longbow.model;

import dev.longbow.TestData;
import dev.longbow.api.GenerateRequest;
import dev.longbow.api.GenerateResult;
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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Dynamic NTK, elastic and LongRoPE change the rotary table as the sequence grows. Keys cached under the old table
 * must not be mixed with queries under the new one: incremental decode has to give the logits a fresh forward over
 * the same tokens gives.
 */
class LengthDependentRopeTest {
    private static final int TRAINED = 512;

    @Test
    void lengthBucketsStepBySquareRootOfTwo() {
        assertEquals(512, Transformer.scaleLength(1, 512));
        assertEquals(512, Transformer.scaleLength(512, 512));
        assertEquals(724, Transformer.scaleLength(513, 512));
        assertEquals(724, Transformer.scaleLength(724, 512));
        assertEquals(1024, Transformer.scaleLength(725, 512));
        assertEquals(1024, Transformer.scaleLength(1024, 512));
        assertEquals(2048, Transformer.scaleLength(2048, 512));
        assertEquals(4096, Transformer.scaleLength(4000, 512));
        for (int n = 1; n < 100_000; n += 37) assertTrue(Transformer.scaleLength(n, 512) >= n);
    }

    @Test
    void incrementalDecodeEqualsAFreshForwardForEveryLengthDependentMethod() {
        float[] shortF = new float[4], longF = new float[4];
        java.util.Arrays.fill(shortF, 1f);
        java.util.Arrays.fill(longF, 3f);
        for (RopeScaling scaling : new RopeScaling[]{RopeScaling.dynamic(2, TRAINED), RopeScaling.elastic(1f, 1f, TRAINED),
                RopeScaling.longrope(shortF, longF, 2, TRAINED, Float.NaN)}) {
            check(scaling, true);
        }
    }

    @Test
    void keepingStaleKeysWouldBeCaughtByTheComparison() {
        // The same comparison with the rebuild skipped must fail, or the test above proves nothing.
        check(RopeScaling.dynamic(2, TRAINED), false);
    }

    private static void check(RopeScaling scaling, boolean rebuild) {
        int length = 800;
        int[] tokens = new int[length];
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < length; i++) tokens[i] = 3 + random.nextInt(500);
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(2)) {
            ModelConfig config = f.config().withRopeScaling(scaling);
            Transformer model = new Transformer(config, ModelWeights.bind(config, f.tensors(), "stories260K"));
            float[] incremental = new float[config.vocabSize()], fresh = new float[config.vocabSize()];
            int rebuilds = 0;
            double worst = 0;
            try (Transformer.State s = model.newState(ops, length, 32)) {
                model.prepare(s, 100);
                prefill(model, ops, s, tokens, 100, incremental);
                for (int m = 100; m < length; m++) {
                    if (model.prepare(s, m + 1) && rebuild) {
                        rebuilds++;
                        prefill(model, ops, s, tokens, m + 1, incremental);
                    } else {
                        model.forward(ops, s, new int[]{tokens[m]}, 1, m, incremental);
                    }
                    if (m == 512 || m == 724 || m == length - 1) { // right after each rescale, and at the end
                        try (Transformer.State s2 = model.newState(ops, m + 1, 32)) {
                            model.prepare(s2, m + 1);
                            prefill(model, ops, s2, tokens, m + 1, fresh);
                        }
                        worst = Math.max(worst, maxRelativeDiff(incremental, fresh));
                    }
                }
            }
            String what = scaling.method().key() + (rebuild ? "" : " without rebuild");
            if (rebuild) {
                assertTrue(worst < 2e-4, what + ": incremental logits differ from a fresh forward by " + worst);
                // dynamic and elastic step at 513 and 725; LongRoPE switches to its long factors once, at 513.
                assertEquals(scaling.method() == RopeScaling.Method.LONGROPE ? 1 : 2, rebuilds, what + " rebuilds");
            } else {
                assertFalse(worst < 1e-2, what + ": stale keys went unnoticed (difference " + worst + ")");
            }
        }
    }

    private static void prefill(Transformer model, CpuOps ops, Transformer.State s, int[] tokens, int n, float[] logits) {
        int[] chunk = new int[s.chunk()];
        for (int pos = 0; pos < n; pos += chunk.length) {
            int k = Math.min(chunk.length, n - pos);
            System.arraycopy(tokens, pos, chunk, 0, k);
            model.forward(ops, s, chunk, k, pos, logits);
        }
    }

    /** Largest difference relative to the logits' spread, so the bound means the same on any model. */
    private static double maxRelativeDiff(float[] a, float[] b) {
        double diff = 0, range = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            range = Math.max(range, Math.abs(b[i]));
        }
        return diff / range;
    }

    @Test
    void generationPastTheTrainedContextStaysConsistentWithDynamicNtk() {
        LoadOptions options = LoadOptions.DEFAULT.withThreads(2).withContextLength(1024)
                .withContext(ContextOptions.DEFAULT.withRope(RopeOverride.method(RopeScaling.Method.DYNAMIC)));
        try (Model model = Longbow.load(TestData.bundledModel(), options)) {
            // A prompt that ends just short of the 724 bucket edge, so decoding crosses it.
            String story = "Once upon a time, there was a little girl named Lily. She liked to play outside with her dog. ";
            StringBuilder text = new StringBuilder();
            while (model.tokenizer().encode(text + story, true, false).length < 700) text.append(story);
            int promptLength = model.tokenizer().encode(text.toString(), true, false).length;
            GenerateResult r = model.generate(new GenerateRequest(text.toString(), 60, SamplerParams.GREEDY, true, false, false, new AtomicBoolean()));
            int[] tokens = r.tokens();
            assertTrue(tokens.length > 730, "only " + tokens.length + " tokens after a prompt of " + promptLength);
            // Each greedy token must be what a fresh forward over its prefix picks, before and after the rescale.
            try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(2)) {
                ModelConfig config = model.config();
                assertEquals(1f, config.ropeScaling().factor(), "dynamic NTK's factor defaults to 1: it follows the length itself");
                Transformer fresh = new Transformer(config, ModelWeights.bind(config, f.tensors(), "stories260K"));
                float[] logits = new float[config.vocabSize()];
                for (int m : new int[]{promptLength, 723, 724, 725, 730}) {
                    try (Transformer.State s = fresh.newState(ops, m, 32)) {
                        fresh.prepare(s, m + 1);
                        prefill(fresh, ops, s, tokens, m, logits);
                    }
                    assertEquals(argmax(logits), tokens[m], "token at position " + m);
                }
            }
        }
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
