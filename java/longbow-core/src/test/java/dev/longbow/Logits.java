package dev.longbow;

import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.format.ModelFile;
import dev.longbow.model.ContextOptions;
import dev.longbow.model.ModelWeights;
import dev.longbow.model.Transformer;

/** Runs a model over a token sequence one position at a time and returns the logits at every position. */
public final class Logits {
    private Logits() {}

    public static float[][] of(ModelFile f, int[] tokens) {
        return of(f, tokens, CpuOps.Kernels.VECTOR);
    }

    public static float[][] of(ModelFile f, int[] tokens, CpuOps.Kernels kernels) {
        return of(f, tokens, kernels, ContextOptions.DEFAULT);
    }

    /** With long-context options (KV type, window, sinks); the cache takes every position of {@code tokens}. */
    public static float[][] of(ModelFile f, int[] tokens, CpuOps.Kernels kernels, ContextOptions options) {
        Transformer t = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), f.path().toString()), options);
        float[][] out = new float[tokens.length][f.config().vocabSize()];
        try (CpuOps ops = new CpuOps(2, kernels); Transformer.State s = t.newState(ops, Math.max(tokens.length, f.config().contextLength()), 1)) {
            for (int i = 0; i < tokens.length; i++) t.forward(ops, s, new int[]{tokens[i]}, 1, i, out[i]);
        }
        return out;
    }

    public static double maxAbsDiff(float[][] a, float[][] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) for (int j = 0; j < a[i].length; j++) m = Math.max(m, Math.abs(a[i][j] - b[i][j]));
        return m;
    }

    public static double minCosine(float[][] a, float[][] b) {
        double worst = 1;
        for (int i = 0; i < a.length; i++) {
            double dot = 0, na = 0, nb = 0;
            for (int j = 0; j < a[i].length; j++) {
                dot += (double) a[i][j] * b[i][j];
                na += (double) a[i][j] * a[i][j];
                nb += (double) b[i][j] * b[i][j];
            }
            worst = Math.min(worst, dot / Math.sqrt(na * nb));
        }
        return worst;
    }
}
