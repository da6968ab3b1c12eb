package dev.longbow.backend.cpu;

import dev.longbow.TestData;
import dev.longbow.engine.Generation;
import dev.longbow.engine.SamplerParams;
import dev.longbow.engine.StopReason;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.model.ContextOptions;
import dev.longbow.model.ModelWeights;
import dev.longbow.model.Transformer;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * StreamingLLM on stories260K (trained context 512): a window of 128 and 4 sinks generate 3,000 tokens at a context of
 * 256, with the cache's memory bounded by the sinks and the window, the text sane, and both kernel sets agreeing.
 */
class StreamingGenerationTest {
    private static final int WINDOW = 128, SINKS = 4, TOKENS = 3000, CTX = 256;

    @Test
    void threeThousandTokensPastTheContextInBoundedMemory() {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
            Tokenizer tokenizer = Tokenizers.forModel(f, null);
            ModelWeights weights = ModelWeights.bind(f.config(), f.tensors(), f.path().toString());
            Transformer streaming = new Transformer(f.config(), weights, ContextOptions.DEFAULT.withWindow(WINDOW, SINKS));
            int[] prompt = tokenizer.encode("Once upon a time", true);
            Generation.Result r, plain;
            try (CpuOps ops = new CpuOps(2)) {
                r = Generation.run(streaming, ops, tokenizer.withoutEndOfText(), prompt, SamplerParams.GREEDY, TOKENS, CTX, false, -1, (id, text, lp) -> { }, () -> false);
                plain = Generation.run(new Transformer(f.config(), weights), ops, tokenizer.withoutEndOfText(), prompt, SamplerParams.GREEDY, 200, 512, false, -1,
                        (id, text, lp) -> { }, () -> false);
            }
            assertEquals(StopReason.MAX_TOKENS, r.stopReason());
            assertEquals(TOKENS, r.generatedTokens());
            int[] tokens = r.tokens();
            assertEquals(prompt.length + TOKENS, tokens.length);
            // Until the window first leaves the sinks behind (query 4 + 128), attention is plain attention.
            assertArrayEquals(Arrays.copyOf(plain.tokens(), SINKS + WINDOW + 1), Arrays.copyOf(tokens, SINKS + WINDOW + 1));
            long distinct = Arrays.stream(tokens, tokens.length - 500, tokens.length).distinct().count();
            assertTrue(distinct > 20, distinct + " distinct ids in the last 500 tokens: " + tokenizer.decode(Arrays.copyOfRange(tokens, tokens.length - 500, tokens.length)));
            System.out.printf("streaming: %d tokens, %d distinct in the last 500, KV cache %,d bytes; the last of the text: %s%n", tokens.length, distinct,
                    r.kvCacheBytes(), tokenizer.decode(Arrays.copyOfRange(tokens, tokens.length - 60, tokens.length)).replace('\n', ' '));

            // The same tokens again, one at a time through both kernel sets: finite logits that agree, bounded memory.
            try (CpuOps reference = new CpuOps(2, CpuOps.Kernels.REFERENCE); CpuOps vector = new CpuOps(2, CpuOps.Kernels.VECTOR);
                 Transformer.State rs = streaming.newState(reference, tokens.length, 1); Transformer.State vs = streaming.newState(vector, tokens.length, 1)) {
                float[] rl = new float[f.config().vocabSize()], vl = new float[rl.length];
                int[] one = new int[1];
                double worst = 0;
                long blockBytes = ((CpuKvCache) vs.cache()).blockBytes, most = 0;
                long bound = (SINKS + WINDOW) * blockBytes / CpuKvCache.BLOCK_POSITIONS + 2 * blockBytes;
                assertEquals(r.kvCacheBytes(), 4 * blockBytes, "the sinks' block and the three the window spans at worst");
                for (int pos = 0; pos < tokens.length; pos++) {
                    one[0] = tokens[pos];
                    streaming.forward(reference, rs, one, 1, pos, rl);
                    streaming.forward(vector, vs, one, 1, pos, vl);
                    for (int i = 0; i < rl.length; i++) {
                        assertTrue(Float.isFinite(vl[i]) && Float.isFinite(rl[i]), "position " + pos + ": logit " + i + " is " + vl[i] + " / " + rl[i]);
                        worst = Math.max(worst, Math.abs(rl[i] - vl[i]));
                    }
                    most = Math.max(most, Math.max(rs.cache().reservedBytes(), vs.cache().reservedBytes()));
                    assertTrue(most <= bound, "position " + pos + ": " + most + " bytes reserved, more than " + bound);
                }
                System.out.printf("streaming, reference vs vector kernels over %d positions: max |logit difference| %.2e; at most %,d bytes reserved (bound %,d)%n",
                        tokens.length, worst, most, bound);
                assertTrue(worst < 1e-3, "reference and vector logits differ by " + worst);
            }
        }
    }
}
