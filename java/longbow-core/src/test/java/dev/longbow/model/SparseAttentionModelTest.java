package dev.longbow.model;

import dev.longbow.TestData;
import dev.longbow.backend.SparseAttention;
import dev.longbow.backend.SparsePattern;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * stories260K on a 2,000-token story prompt, four times its trained context (linear RoPE, factor 4), with each
 * sparse pattern: the run completes, most of dense attention's scores are skipped, and the model still predicts the
 * last tokens of the text better than chance, with finite logits throughout.
 */
class SparseAttentionModelTest {
    private static final int CONTEXT = 2048, PROMPT = 2000, SCORED = 48;

    /** Mean negative log-likelihood of the last {@link #SCORED} tokens, decoded one at a time after the rest is prefilled. */
    private record Run(double nll, double skipped) {}

    private static Run run(ModelFile f, int[] tokens, SparseAttention sparse) {
        ModelConfig config = f.config().withRopeScaling(RopeScaling.linear(4));
        Transformer t = new Transformer(config, ModelWeights.bind(config, f.tensors(), f.path().toString()), ContextOptions.DEFAULT.withSparse(sparse));
        float[] logits = new float[config.vocabSize()];
        int prefill = PROMPT - SCORED, chunk = 32;
        double nll = 0;
        try (CpuOps ops = new CpuOps(2); Transformer.State s = t.newState(ops, CONTEXT, chunk)) {
            for (int pos = 0; pos < prefill; pos += chunk) {
                int n = Math.min(chunk, prefill - pos);
                t.forward(ops, s, Arrays.copyOfRange(tokens, pos, pos + n), n, pos, logits);
            }
            for (int pos = prefill; pos < PROMPT; pos++) {
                for (float x : logits) assertTrue(Float.isFinite(x), sparse + ": non-finite logit before position " + pos);
                nll -= logSoftmax(logits, tokens[pos]);
                t.forward(ops, s, new int[]{tokens[pos]}, 1, pos, logits);
            }
            for (float x : logits) assertTrue(Float.isFinite(x), sparse + ": non-finite logit at the end");
            return new Run(nll / SCORED, s.cache().scoresSkipped());
        }
    }

    private static double logSoftmax(float[] logits, int token) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float x : logits) max = Math.max(max, x);
        for (float x : logits) sum += Math.exp(x - max);
        return logits[token] - max - Math.log(sum);
    }

    @Test
    void longPromptRunsWithEachPatternSkippingMostScores() throws Exception {
        String text = Files.readString(TestData.shared("data/tinystories-valid-800k.txt"));
        try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
            Tokenizer tok = Tokenizers.load(TestData.root().resolve("models/tok512.bin"));
            int[] tokens = tok.encode(text.substring(0, 20_000), true, false);
            assertTrue(tokens.length >= PROMPT, "only " + tokens.length + " tokens");
            Run dense = run(f, tokens, SparseAttention.NONE);
            Run localGlobal = run(f, tokens, SparseAttention.of(SparsePattern.LOCAL_GLOBAL));
            Run lsh = run(f, tokens, SparseAttention.of(SparsePattern.LSH));
            System.out.printf("SparseAttentionModelTest: mean NLL of the last %d of %d tokens: dense %.3f, local-global %.3f (%.1f%% of scores skipped), lsh %.3f (%.1f%% skipped)%n",
                    SCORED, PROMPT, dense.nll, localGlobal.nll, 100 * localGlobal.skipped, lsh.nll, 100 * lsh.skipped);
            assertTrue(dense.skipped == 0, "dense skipped " + dense.skipped);
            assertTrue(localGlobal.skipped > 0.5, "local-global skipped only " + localGlobal.skipped);
            assertTrue(lsh.skipped > 0.5, "lsh skipped only " + lsh.skipped);
            double chance = Math.log(f.config().vocabSize());
            for (Run r : new Run[]{dense, localGlobal, lsh}) assertTrue(r.nll < chance, r + " is no better than chance (" + chance + ")");
        }
    }
}
