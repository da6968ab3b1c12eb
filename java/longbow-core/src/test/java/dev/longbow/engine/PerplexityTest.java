package dev.longbow.engine;

import dev.longbow.LongbowException;
import dev.longbow.TestData;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.model.ModelWeights;
import dev.longbow.model.Transformer;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sliding-window perplexity against Hugging Face's loop written out, one token at a time with the reference kernels. */
class PerplexityTest {
    /**
     * Hugging Face's perplexity guide, literally: for each window start, labels before the last trg_len positions
     * are masked, logits at position i are scored against the token at i + 1; here one token at a time, in double.
     */
    static double[] bruteForce(Transformer t, int[] text, int bos, int ctx, int stride) {
        int b = bos >= 0 ? 1 : 0, m = text.length, vocab = t.config().vocabSize();
        stride = Math.min(stride, ctx - b);
        double nll = 0;
        long count = 0;
        int prevEnd = 0;
        try (CpuOps ops = new CpuOps(1, CpuOps.Kernels.REFERENCE)) {
            for (int begin = 0; begin < m; begin += stride) {
                int end = Math.min(begin + ctx - b, m), trgLen = end - prevEnd;
                int[] input = new int[b + end - begin];
                if (b == 1) input[0] = bos;
                System.arraycopy(text, begin, input, b, end - begin);
                float[] logits = new float[vocab];
                try (Transformer.State s = t.newState(ops, ctx, 1)) {
                    for (int i = 0; i + 1 < input.length; i++) {
                        t.forward(ops, s, new int[]{input[i]}, 1, i, logits);
                        if (i + 1 < input.length - trgLen) continue;
                        double max = Double.NEGATIVE_INFINITY, sum = 0;
                        for (float v : logits) max = Math.max(max, v);
                        for (float v : logits) sum += Math.exp(v - max);
                        nll -= logits[input[i + 1]] - max - Math.log(sum);
                        count++;
                    }
                }
                prevEnd = end;
                if (end == m) break;
            }
        }
        return new double[]{Math.exp(nll / count), count};
    }

    static int[] storyTokens(Tokenizer tok, int n) throws Exception {
        String text = Files.readString(TestData.shared("data/tinystories-valid-800k.txt"));
        return Perplexity.tokens(tok, text, n);
    }

    static Transformer transformer(ModelFile f) {
        return new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), f.path().toString()));
    }

    @Test
    void matchesBruteForceWithAndWithoutBosDisjointAndStrided() throws Exception {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(2)) {
            Tokenizer tok = Tokenizers.forModel(f, null);
            Transformer t = transformer(f);
            int[] text = storyTokens(tok, 1000);
            assertEquals(1000, text.length);
            double disjoint = 0, strided = 0;
            for (int bos : new int[]{tok.bos(), -1}) {
                for (int stride : new int[]{256, 100}) {
                    Perplexity.Result r = Perplexity.run(t, ops, text, bos, 256, stride);
                    double[] expected = bruteForce(t, text, bos, 256, stride);
                    String what = "bos " + bos + ", stride " + stride;
                    assertEquals(expected[1], r.tokens(), what);
                    assertEquals(expected[0], r.perplexity(), 1e-3 * expected[0], what);
                    assertTrue(r.perplexity() > 1 && r.perplexity() < 512, what + ": " + r.perplexity());
                    if (bos >= 0 && stride == 256) disjoint = r.perplexity();
                    if (bos >= 0 && stride == 100) strided = r.perplexity();
                    int windowText = 256 - (bos >= 0 ? 1 : 0);
                    assertEquals(Math.min(stride, windowText), r.stride(), what);
                }
            }
            // BOS counts as context: every text token is scored once whatever the stride.
            assertEquals(1000, Perplexity.run(t, ops, text, tok.bos(), 256, 100).tokens());
            // Strided windows give later tokens more context: a different figure, and (for a model that uses its
            // context) a lower one.
            assertNotEquals(disjoint, strided);
            assertTrue(strided < disjoint, "strided " + strided + " vs disjoint " + disjoint);
        }
    }

    /** Beats the best unigram model of the very text it is scored on: exp of the text's own token entropy. */
    @Test
    void trainedContextBeatsTheUnigramBaseline() throws Exception {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(2)) {
            Tokenizer tok = Tokenizers.forModel(f, null);
            int[] text = storyTokens(tok, 8192);
            Perplexity.Result r = Perplexity.run(transformer(f), ops, text, tok.bos(), 512, 512);
            int[] counts = new int[f.config().vocabSize()];
            for (int id : text) counts[id]++;
            double entropy = 0;
            for (int c : counts) if (c > 0) entropy -= (double) c / text.length * Math.log((double) c / text.length);
            double unigram = Math.exp(entropy);
            assertEquals((8192 + 510) / 511, r.windows()); // a window holds BOS and 511 text tokens
            assertEquals(8192, r.tokens());
            assertTrue(unigram > 50 && unigram < 512, "unigram perplexity " + unigram); // 120 on this text
            assertTrue(r.perplexity() < unigram / 10, "perplexity " + r.perplexity() + " vs unigram " + unigram);
        }
    }

    @Test
    void tokensOfAPrefixAreThoseOfTheWholeText() throws Exception {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
            Tokenizer tok = Tokenizers.forModel(f, null);
            String text = Files.readString(TestData.shared("data/tinystories-valid-500stories.txt"));
            int[] all = tok.encode(text, false);
            for (int n : new int[]{1, 700, 5000}) assertArrayEquals(Arrays.copyOf(all, n), Perplexity.tokens(tok, text, n), "first " + n);
            assertArrayEquals(all, Perplexity.tokens(tok, text, 0));
            assertArrayEquals(all, Perplexity.tokens(tok, text, all.length + 10));
            assertThrows(LongbowException.class, () -> Perplexity.tokens(tok, "", 10));
        }
    }

    @Test
    void rejectsBadWindows() {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(1)) {
            Transformer t = transformer(f);
            int[] text = {300, 301, 302};
            assertThrows(LongbowException.class, () -> Perplexity.run(t, ops, text, 1, 1, 1));
            assertThrows(LongbowException.class, () -> Perplexity.run(t, ops, text, 1, 8, 0));
            assertThrows(LongbowException.class, () -> Perplexity.run(t, ops, text, 1, 8, 9));
            assertThrows(LongbowException.class, () -> Perplexity.run(t, ops, new int[]{300}, -1, 8, 8));
            assertEquals(1, Perplexity.run(t, ops, new int[]{300}, 1, 8, 8).tokens());
            assertEquals(2, Perplexity.run(t, ops, text, -1, 8, 8).tokens());
        }
    }
}
