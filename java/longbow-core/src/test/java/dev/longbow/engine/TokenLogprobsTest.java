package dev.longbow.engine;

import dev.longbow.TestData;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.model.ModelWeights;
import dev.longbow.model.Transformer;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Log-probabilities: log-softmax of the raw logits, top alternatives in order, and no effect on what is generated. */
class TokenLogprobsTest {
    @Test
    void logSoftmaxAndTopAlternatives() {
        float[] logits = {2.0f, 1.0f, 0.5f, -1.0f, 3.0f, 3.0f};
        double z = 0;
        for (float l : logits) z += Math.exp(l);
        TokenLogprobs lp = TokenLogprobs.of(logits, 2, 3);
        assertEquals(2, lp.token());
        assertEquals(Math.log(Math.exp(0.5) / z), lp.logprob(), 1e-12);
        assertArrayEquals(new int[]{4, 5, 0}, lp.topTokens(), "most likely first, ties by lower id");
        for (int i = 0; i < 3; i++) assertEquals(Math.log(Math.exp(logits[lp.topTokens()[i]]) / z), lp.topLogprobs()[i], 1e-12);
        assertEquals(0, TokenLogprobs.of(logits, 0, 0).topTokens().length);
        assertEquals(6, TokenLogprobs.of(logits, 0, 50).topTokens().length);
    }

    @Test
    void topAlternativesAgreeWithASortOnLargeVocabularies() {
        SplittableRandom r = new SplittableRandom(11);
        for (int trial = 0; trial < 20; trial++) {
            float[] logits = new float[5000];
            // Coarse values, so ties are common.
            for (int i = 0; i < logits.length; i++) logits[i] = (float) Math.floor(r.nextDouble(-20, 20) * 4) / 4;
            TokenLogprobs lp = TokenLogprobs.of(logits, r.nextInt(logits.length), 20);
            Integer[] order = new Integer[logits.length];
            for (int i = 0; i < order.length; i++) order[i] = i;
            Arrays.sort(order, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
            for (int i = 0; i < 20; i++) assertEquals(order[i], lp.topTokens()[i]);
            double sum = 0;
            for (float l : logits) sum += Math.exp(l - 20);
            assertEquals(logits[lp.token()] - 20 - Math.log(sum), lp.logprob(), 1e-9);
        }
    }

    record Step(int token, TokenLogprobs logprobs) {}

    static List<Step> generate(Transformer model, CpuOps ops, Tokenizer tok, int[] prompt, SamplerParams p, int topLogprobs) {
        List<Step> steps = new ArrayList<>();
        Generation.run(model, ops, tok, prompt, p, 40, 512, false, topLogprobs, (id, text, lp) -> {
            if (id >= 0) steps.add(new Step(id, lp));
        }, () -> false);
        return steps;
    }

    @Test
    void generationReportsTheModelsDistributionWithoutChangingIt() {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(2)) {
            Transformer model = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), "stories260K"));
            Tokenizer tok = Tokenizers.forModel(f, null);
            int[] prompt = tok.encode("Once upon a time", true);
            for (SamplerParams p : new SamplerParams[]{SamplerParams.GREEDY, new SamplerParams(0.9f, 40, 0.9f, 0.05f, 1.3f, 64, 77)}) {
                List<Step> plain = generate(model, ops, tok, prompt, p, -1);
                List<Step> reported = generate(model, ops, tok, prompt, p, 4);
                assertEquals(plain.stream().map(Step::token).toList(), reported.stream().map(Step::token).toList(), "same tokens with logprobs on");
                plain.forEach(s -> assertNull(s.logprobs()));
                int[] sequence = Arrays.copyOf(prompt, prompt.length + reported.size());
                for (int i = 0; i < reported.size(); i++) {
                    TokenLogprobs lp = reported.get(i).logprobs();
                    assertEquals(reported.get(i).token(), lp.token());
                    // The raw distribution at this position, from a fresh forward pass over everything before it.
                    float[] logits = forward(model, ops, Arrays.copyOf(sequence, prompt.length + i));
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (float l : logits) max = Math.max(max, l);
                    for (float l : logits) sum += Math.exp(l - max);
                    double logZ = max + Math.log(sum);
                    assertEquals(logits[lp.token()] - logZ, lp.logprob(), 1e-3, "step " + i);
                    for (int k = 0; k < 4; k++) assertEquals(logits[lp.topTokens()[k]] - logZ, lp.topLogprobs()[k], 1e-3);
                    if (p == SamplerParams.GREEDY) assertEquals(lp.topTokens()[0], lp.token(), "greedy takes the most likely");
                    sequence[prompt.length + i] = reported.get(i).token();
                }
            }
        }
    }

    private static float[] forward(Transformer model, CpuOps ops, int[] tokens) {
        float[] logits = new float[model.config().vocabSize()];
        try (Transformer.State s = model.newState(ops, tokens.length, tokens.length)) {
            model.forward(ops, s, tokens, tokens.length, 0, logits);
        }
        return logits;
    }

    @Test
    void zeroAlternativesReportsTheChosenTokenOnly() {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(1)) {
            Transformer model = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), "stories260K"));
            Tokenizer tok = Tokenizers.forModel(f, null);
            List<Step> steps = generate(model, ops, tok, tok.encode("Hi", true), SamplerParams.GREEDY, 0);
            assertTrue(!steps.isEmpty());
            for (Step s : steps) {
                assertEquals(0, s.logprobs().topTokens().length);
                assertTrue(s.logprobs().logprob() <= 0);
            }
        }
    }
}
