package dev.longbow.model;

import dev.longbow.LongbowException;
import dev.longbow.TestData;
import dev.longbow.api.Embedding;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.tensor.Tensor;
import dev.longbow.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The final hidden states an embedding pools: the classifier applied to them gives forward's logits; embed averages them. */
class HiddenStatesTest {
    @Test
    void theClassifierOfTheLastHiddenStateIsForwardsLogits() {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(2)) {
            ModelWeights w = ModelWeights.bind(f.config(), f.tensors(), "stories260K");
            Transformer model = new Transformer(f.config(), w);
            int[] tokens = Tokenizers.forModel(f, null).encode("The cat sat on the mat.", true);
            int n = tokens.length, dim = f.config().dim();
            float[] logits = new float[f.config().vocabSize()];
            float[][] hidden = new float[n][dim];
            try (Transformer.State a = model.newState(ops, n, n); Transformer.State b = model.newState(ops, n, n)) {
                model.forward(ops, a, tokens, n, 0, logits);
                model.hiddenStates(ops, b, tokens, n, 0, hidden);
            }
            Tensor out = w.output();
            float[] row = new float[dim];
            for (int v = 0; v < logits.length; v++) {
                out.readRow(v, row, 0);
                double dot = 0;
                for (int i = 0; i < dim; i++) dot += (double) row[i] * hidden[n - 1][i];
                assertEquals(logits[v], dot, 1e-3 * Math.max(1, Math.abs(dot)), "logit " + v);
            }
        }
    }

    @Test
    void embedIsTheNormalizedMeanOfTheHiddenStates() {
        try (Model m = Longbow.load(TestData.bundledModel(), LoadOptions.DEFAULT.withThreads(2));
             ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(1)) {
            String text = "Lily went to the park with her mom. They played on the swings. ".repeat(3);
            Embedding e = m.embed(text, true);
            int[] tokens = m.tokenizer().encode(text, true);
            assertEquals(tokens.length, e.tokens());
            // Token by token (chunk 1) rather than embed's chunks: rounding may differ, the values may not.
            Transformer model = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), "stories260K"));
            double[] mean = new double[f.config().dim()];
            float[][] one = new float[1][f.config().dim()];
            try (Transformer.State s = model.newState(ops, tokens.length, 1)) {
                for (int pos = 0; pos < tokens.length; pos++) {
                    model.hiddenStates(ops, s, new int[]{tokens[pos]}, 1, pos, one);
                    for (int i = 0; i < mean.length; i++) mean[i] += one[0][i] / tokens.length;
                }
            }
            double norm = 0, unit = 0;
            for (double v : mean) norm += v * v;
            norm = Math.sqrt(norm);
            for (int i = 0; i < mean.length; i++) {
                assertEquals(mean[i] / norm, e.vector()[i], 1e-4);
                unit += (double) e.vector()[i] * e.vector()[i];
            }
            assertEquals(1, unit, 1e-5);
            assertTrue(Math.abs(cosine(e.vector(), m.embed("A big red truck drove down the road.", true).vector())) < 0.9999, "different texts differ");
            assertThrows(LongbowException.class, () -> m.embed("word ".repeat(1000), true), "longer than the context");
        }
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0;
        for (int i = 0; i < a.length; i++) dot += (double) a[i] * b[i];
        return dot;
    }
}
