package dev.longbow.engine;

import dev.longbow.Logits;
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

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PasskeyTest {
    static float[] logits(int vocab, int... highs) {
        float[] l = new float[vocab];
        for (int i = 0; i < highs.length; i++) l[highs[i]] = highs.length - i; // first listed is the argmax
        return l;
    }

    @Test
    void scoresTheArgmaxOfEachPrediction() {
        int[] key = {3, 1, 4};
        float[][] allRight = {logits(6, 3, 1), logits(6, 1, 3), logits(6, 4)};
        float[][] middleWrong = {logits(6, 3), logits(6, 2, 1), logits(6, 4, 0)};
        float[][] allWrong = {logits(6, 0, 3), logits(6, 5, 1), logits(6, 2, 4)};
        assertEquals(3, Passkey.correct(allRight, key));
        assertEquals(2, Passkey.correct(middleWrong, key));
        assertEquals(0, Passkey.correct(allWrong, key));
        // Ties go to the first index, as greedy decoding picks: a tie between 1 and 3 predicts 1.
        float[] tie = new float[6];
        tie[1] = tie[3] = 2;
        assertEquals(0, Passkey.correct(new float[][]{tie}, new int[]{3}));
        assertEquals(1, Passkey.correct(new float[][]{tie}, new int[]{1}));
        // Predictions are matched to targets in order, not as a set.
        assertEquals(0, Passkey.correct(new float[][]{logits(6, 1), logits(6, 3)}, new int[]{3, 1}));
    }

    @Test
    void promptsFillTheContextAndPlaceTheNeedle() {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
            Tokenizer tok = Tokenizers.forModel(f, null);
            for (int ctx : new int[]{128, 512, 2048}) {
                for (double depth : new double[]{0, 0.5, 1}) {
                    Passkey.Sequence s = Passkey.build(tok, ctx, depth, "71432");
                    int[] t = s.tokens();
                    assertTrue(t.length <= ctx && t.length > ctx - 16, ctx + ": " + t.length + " tokens");
                    assertEquals(1, t[0], "BOS first");
                    // The key tokens are the digits, nothing else; the prompt ends with the question.
                    assertEquals("71432", tok.decode(Arrays.copyOfRange(t, s.keyStart(), t.length)).strip());
                    String prompt = tok.decode(Arrays.copyOfRange(t, 1, s.keyStart())).strip();
                    assertTrue(prompt.endsWith("What is the pass key? The pass key is"), prompt);
                    int needle = prompt.indexOf("The pass key is 71432.");
                    int question = prompt.indexOf("What is the pass key?");
                    if (depth == 0) assertEquals(0, needle);
                    if (depth == 1) assertTrue(prompt.substring(needle, question).matches("The pass key is 71432\\. Remember it\\. 71432 is the pass key\\. "),
                            prompt.substring(needle));
                    // Sentences (one full stop each) before the needle, of all filler sentences (the needle has three).
                    long before = prompt.substring(0, needle).chars().filter(c -> c == '.').count();
                    long fillers = prompt.substring(0, question).chars().filter(c -> c == '.').count() - 3;
                    assertEquals(Math.round(depth * fillers), before, ctx + " at depth " + depth);
                    assertTrue(fillers >= (ctx - 70) / 14, fillers + " filler sentences in " + ctx + " tokens"); // about 11 tokens each
                }
            }
            assertThrows(LongbowException.class, () -> Passkey.build(tok, 20, 0.5, "71432"));
        }
    }

    /**
     * Teacher forcing on text the sample model predicts well: its count of right tokens is the count one-token-at-a-
     * time decoding gives, and neither 0 nor all, so a scorer reading the wrong rows could not agree by accident.
     */
    @Test
    void teacherForcingReadsTheRowsThatPredictEachToken() {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(2)) {
            Tokenizer tok = Tokenizers.forModel(f, null);
            Transformer t = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), f.path().toString()));
            int[] tokens = tok.encode("Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her "
                    + "friends. One day, she saw a big red ball under a tree. Lily was very happy and she ran to get it.", true);
            float[][] decoded = Logits.of(f, tokens);
            int vocab = f.config().vocabSize();
            for (int chunk : new int[]{1, 7, 32}) {
                for (int keyStart : new int[]{1, 20, 31, 32, 33, tokens.length - 1}) {
                    Passkey.Sequence seq = new Passkey.Sequence(tokens, keyStart);
                    int expected = Passkey.correct(Arrays.copyOfRange(decoded, keyStart - 1, tokens.length - 1), Arrays.copyOfRange(tokens, keyStart, tokens.length));
                    try (Transformer.State s = t.newState(ops, tokens.length, chunk)) {
                        int got = Passkey.teacherForced(t, ops, s, seq, new int[chunk], new float[chunk][vocab], new float[vocab]);
                        assertEquals(expected, got, "chunk " + chunk + ", key from " + keyStart);
                    }
                    if (keyStart == 20) assertTrue(expected > 5 && expected < tokens.length - keyStart - 5, expected + " of " + (tokens.length - keyStart));
                }
            }
        }
    }

    /**
     * A short haystack, well within the trained context: the run returns fractions for the right number of trials,
     * and each trial's count of correct key tokens is what one-token-at-a-time decoding of its prompt gives.
     */
    @Test
    void runsOnTheSampleModelAndAgreesWithDecoding() {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(2)) {
            Tokenizer tok = Tokenizers.forModel(f, null);
            Transformer t = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), f.path().toString()));
            double[] depths = {0, 0.5, 1};
            Passkey.Result r = Passkey.run(t, ops, tok, 160, depths, 2, 7);
            assertEquals(3, r.depths().size());
            assertEquals(6, r.runs().size());
            assertTrue(r.accuracy() >= 0 && r.accuracy() <= 1 && r.tokenAccuracy() >= 0 && r.tokenAccuracy() <= 1);
            for (Passkey.Depth d : r.depths()) {
                assertEquals(2, d.trials());
                assertTrue(d.accuracy() >= 0 && d.accuracy() <= 1 && d.tokenAccuracy() >= 0 && d.tokenAccuracy() <= 1);
                assertTrue(d.meanPromptTokens() > 140 && d.meanPromptTokens() <= 160, "prompt tokens " + d.meanPromptTokens());
            }
            int right = 0, all = 0;
            for (Passkey.Trial trial : r.runs()) {
                assertTrue(trial.key().matches("[1-9][0-9]{4}"), trial.key());
                Passkey.Sequence s = Passkey.build(tok, 160, trial.depth(), trial.key());
                float[][] decoded = Logits.of(f, s.tokens());
                float[][] predictions = Arrays.copyOfRange(decoded, s.keyStart() - 1, s.tokens().length - 1);
                int expected = Passkey.correct(predictions, Arrays.copyOfRange(s.tokens(), s.keyStart(), s.tokens().length));
                assertEquals(expected, trial.correctTokens(), "key " + trial.key() + " at depth " + trial.depth());
                assertEquals(5, trial.keyTokens(), "the sample tokenizer spells digits one by one");
                right += trial.correctTokens();
                all += trial.keyTokens();
            }
            assertEquals((double) right / all, r.tokenAccuracy(), 1e-12);
            // Same seed, same keys.
            assertEquals(r.runs().stream().map(Passkey.Trial::key).toList(),
                    Passkey.run(t, ops, tok, 160, depths, 2, 7).runs().stream().map(Passkey.Trial::key).toList());
        }
    }
}
