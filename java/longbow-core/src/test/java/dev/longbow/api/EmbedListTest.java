package dev.longbow.api;

import dev.longbow.LongbowException;
import dev.longbow.TestData;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.model.ModelWeights;
import dev.longbow.model.Transformer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** embed(texts, options): each pooling and normalization against hidden states computed directly; order; errors by index. */
class EmbedListTest {
    static Model model;
    static final String LONG = "Lily went to the park with her mom. They played on the swings and ate ice cream. ".repeat(3);

    @BeforeAll
    static void load() {
        model = Longbow.load(TestData.bundledModel(), LoadOptions.DEFAULT.withThreads(2));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Every token's final hidden state, computed one token at a time (embed runs chunks: rounding may differ, values may not). */
    private static float[][] hidden(String text, boolean bos) {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(1)) {
            Transformer t = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), "stories260K"));
            int[] tokens = model.tokenizer().encode(text, bos);
            float[][] out = new float[tokens.length][f.config().dim()];
            float[][] one = new float[1][f.config().dim()];
            try (Transformer.State s = t.newState(ops, tokens.length, 1)) {
                for (int pos = 0; pos < tokens.length; pos++) {
                    t.hiddenStates(ops, s, new int[]{tokens[pos]}, 1, pos, one);
                    out[pos] = one[0].clone();
                }
            }
            return out;
        }
    }

    private static void assertClose(double[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], 1e-4 * Math.max(1, Math.abs(expected[i])), "component " + i);
    }

    private static double[] unit(double[] v) {
        double n = Math.sqrt(Arrays.stream(v).map(x -> x * x).sum());
        return Arrays.stream(v).map(x -> x / n).toArray();
    }

    @Test
    void lastTokenPoolingIsTheLastHiddenState() {
        float[][] h = hidden(LONG, true);
        double[] last = new double[h[0].length];
        for (int i = 0; i < last.length; i++) last[i] = h[h.length - 1][i];
        EmbedOptions o = EmbedOptions.DEFAULT.withPooling(EmbedOptions.Pooling.LAST_TOKEN);
        assertClose(last, model.embed(List.of(LONG), o.withNormalize(false)).getFirst().vector());
        Embedding normalized = model.embed(List.of(LONG), o).getFirst();
        assertClose(unit(last), normalized.vector());
        assertEquals(h.length, normalized.tokens());
    }

    @Test
    void unnormalizedMeanIsThePlainMean() {
        float[][] h = hidden(LONG, false);
        double[] mean = new double[h[0].length];
        for (float[] row : h) for (int i = 0; i < mean.length; i++) mean[i] += row[i] / h.length;
        EmbedOptions o = EmbedOptions.DEFAULT.withNormalize(false).withAddBos(false);
        assertClose(mean, model.embed(List.of(LONG), o).getFirst().vector());
        assertClose(unit(mean), model.embed(List.of(LONG), o.withNormalize(true)).getFirst().vector());
    }

    @Test
    void aListIsEmbeddedInOrderAsEachTextAlone() {
        List<String> texts = List.of("a happy dog", LONG, "a sad cat", "x");
        for (EmbedOptions.Pooling p : EmbedOptions.Pooling.values()) {
            EmbedOptions o = EmbedOptions.DEFAULT.withPooling(p);
            List<Embedding> all = model.embed(texts, o);
            assertEquals(texts.size(), all.size());
            for (int i = 0; i < texts.size(); i++) {
                Embedding alone = model.embed(List.of(texts.get(i)), o).getFirst();
                assertArrayEquals(alone.vector(), all.get(i).vector(), p + " text " + i);
                assertEquals(alone.tokens(), all.get(i).tokens());
            }
        }
        assertArrayEquals(model.embed("a sad cat", true).vector(), model.embed(texts, EmbedOptions.DEFAULT).get(2).vector(),
                "the single-text method is the list's default");
    }

    @Test
    void badTextsAreNamedByIndex() {
        var tooLong = assertThrows(LongbowException.class, () -> model.embed(List.of("fine", "also fine", "word ".repeat(1000)), EmbedOptions.DEFAULT));
        assertTrue(tooLong.getMessage().startsWith("text 2 of ") && tooLong.getMessage().contains("exceeds the context length of 512 tokens"), tooLong.getMessage());
        var empty = assertThrows(LongbowException.class, () -> model.embed(List.of("fine", ""), EmbedOptions.DEFAULT.withAddBos(false)));
        assertTrue(empty.getMessage().startsWith("text 1 is empty"), empty.getMessage());
        var nul = assertThrows(LongbowException.class, () -> model.embed(Arrays.asList("fine", null), EmbedOptions.DEFAULT));
        assertTrue(nul.getMessage().startsWith("text 1 is null"), nul.getMessage());
        // With BOS an empty text is BOS alone: a valid one-token input.
        assertEquals(1, model.embed(List.of(""), EmbedOptions.DEFAULT).getFirst().tokens());
        assertEquals(List.of(), model.embed(List.of(), EmbedOptions.DEFAULT));
    }
}
