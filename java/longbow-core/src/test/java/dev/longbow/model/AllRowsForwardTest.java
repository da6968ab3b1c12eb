package dev.longbow.model;

import dev.longbow.Logits;
import dev.longbow.TestData;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The every-row forward (for scoring text) against one-token-at-a-time decoding of the same sequence. */
class AllRowsForwardTest {
    @Test
    void everyRowMatchesTokenByTokenDecoding() {
        int[] tokens = new int[70];
        SplittableRandom r = new SplittableRandom(3);
        tokens[0] = 1;
        for (int i = 1; i < tokens.length; i++) tokens[i] = 3 + r.nextInt(500);
        try (ModelFile f = ModelLoader.open(TestData.bundledModel())) {
            float[][] decoded = Logits.of(f, tokens, CpuOps.Kernels.REFERENCE);
            for (CpuOps.Kernels kernels : CpuOps.Kernels.values()) {
                Transformer t = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), f.path().toString()));
                int chunk = 32, vocab = f.config().vocabSize();
                float[][] rows = new float[tokens.length][vocab];
                float[] last = new float[vocab];
                try (CpuOps ops = new CpuOps(2, kernels); Transformer.State s = t.newState(ops, 128, chunk)) {
                    for (int pos = 0; pos < tokens.length; pos += chunk) {
                        int n = Math.min(chunk, tokens.length - pos);
                        float[][] out = new float[n][];
                        System.arraycopy(rows, pos, out, 0, n);
                        t.forward(ops, s, java.util.Arrays.copyOfRange(tokens, pos, pos + n), n, pos, out);
                    }
                    // The same chunk again through the last-row path: its logits are the all-rows path's last row.
                    int pos = 64, n = tokens.length - pos;
                    t.forward(ops, s, java.util.Arrays.copyOfRange(tokens, pos, pos + n), n, pos, last);
                }
                double diff = Logits.maxAbsDiff(rows, decoded);
                assertTrue(diff < (kernels == CpuOps.Kernels.REFERENCE ? 1e-5 : 1e-3), kernels + ": max logit difference " + diff);
                assertTrue(Logits.minCosine(rows, decoded) > 0.99999, kernels + ": cosine " + Logits.minCosine(rows, decoded));
                if (kernels == CpuOps.Kernels.REFERENCE) assertArrayEquals(rows[tokens.length - 1], last, kernels.toString());
                else assertEquals(0, Logits.maxAbsDiff(new float[][]{rows[tokens.length - 1]}, new float[][]{last}), 1e-4);
            }
        }
    }
}
