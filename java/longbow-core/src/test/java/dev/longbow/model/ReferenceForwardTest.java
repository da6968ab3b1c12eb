package dev.longbow.model;

import dev.longbow.Logits;
import dev.longbow.convert.Synth;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The forward pass against a plain double-precision transformer written from the papers' formulas (full score
 * matrix, explicit masks), on small synthetic models that exercise what the llama2.c goldens cannot: QKV biases
 * (Qwen2), a sliding window (Mistral), grouped-query attention, and both RoPE layouts.
 */
class ReferenceForwardTest {
    @TempDir
    Path dir;

    static ModelConfig tiny(String arch, int window) {
        return new ModelConfig(arch, 64, 96, 2, 4, 2, 16, 300, 64, 1e-5f, 10000f,
                arch.equals("qwen2") ? RotaryLayout.HALF_SPLIT : RotaryLayout.INTERLEAVED, RopeScaling.NONE, window);
    }

    @Test
    void qwen2WithBiasesAndHalfSplitRope() throws Exception {
        check(tiny("qwen2", 0));
    }

    @Test
    void mistralSlidingWindow() throws Exception {
        check(tiny("llama", 4));
    }

    @Test
    void llamaGroupedQueryAttention() throws Exception {
        check(tiny("llama", 0));
    }

    void check(ModelConfig c) throws Exception {
        Path f = dir.resolve(c.architecture() + c.slidingWindow() + ".gguf");
        Synth.write(c, WeightType.F32, 5, f);
        int[] tokens = {1, 17, 250, 3, 99, 42, 42, 7, 288, 150, 61, 5, 200, 13};
        try (ModelFile m = ModelLoader.open(f)) {
            if (c.architecture().equals("qwen2")) assertTrue(m.tensors().containsKey("blk.0.attn_q.bias"));
            assertTrue(m.config().slidingWindow() == c.slidingWindow());
            float[][] ours = Logits.of(m, tokens);
            double[][] ref = reference(m, tokens);
            for (int p = 0; p < tokens.length; p++) {
                double maxAbs = 0, maxRef = 0;
                for (int v = 0; v < ref[p].length; v++) {
                    maxAbs = Math.max(maxAbs, Math.abs(ours[p][v] - ref[p][v]));
                    maxRef = Math.max(maxRef, Math.abs(ref[p][v]));
                }
                assertTrue(maxAbs <= 1e-4 * Math.max(1, maxRef), "position " + p + ": max difference " + maxAbs + " (logit scale " + maxRef + ")");
            }
        }
    }

    /** Logits at every position, in double precision, straight from the definitions. */
    static double[][] reference(ModelFile m, int[] tokens) {
        ModelConfig c = m.config();
        int n = tokens.length, d = c.dim(), hd = c.headDim();
        double[][] x = new double[n][];
        double[][] emb = matrix(m.tensor("token_embd.weight"));
        for (int t = 0; t < n; t++) x[t] = emb[tokens[t]].clone();
        for (int l = 0; l < c.layers(); l++) {
            String p = "blk." + l + ".";
            double[][] h = norm(x, vec(m.tensor(p + "attn_norm.weight")), c.normEps());
            double[][] q = linear(h, m.tensor(p + "attn_q.weight"), m.tensor(p + "attn_q.bias"));
            double[][] k = linear(h, m.tensor(p + "attn_k.weight"), m.tensor(p + "attn_k.bias"));
            double[][] v = linear(h, m.tensor(p + "attn_v.weight"), m.tensor(p + "attn_v.bias"));
            rope(q, c);
            rope(k, c);
            double[][] att = new double[n][c.qDim()];
            for (int head = 0; head < c.heads(); head++) {
                int kvHead = head / (c.heads() / c.kvHeads());
                for (int i = 0; i < n; i++) {
                    double[] s = new double[n];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        boolean visible = j <= i && (c.slidingWindow() == 0 || i - j < c.slidingWindow());
                        if (!visible) {
                            s[j] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        for (int e = 0; e < hd; e++) s[j] += q[i][head * hd + e] * k[j][kvHead * hd + e];
                        s[j] /= Math.sqrt(hd);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) sum += s[j] = Math.exp(s[j] - max);
                    for (int j = 0; j < n; j++) for (int e = 0; e < hd; e++) att[i][head * hd + e] += s[j] / sum * v[j][kvHead * hd + e];
                }
            }
            add(x, linear(att, m.tensor(p + "attn_output.weight"), null));
            double[][] h2 = norm(x, vec(m.tensor(p + "ffn_norm.weight")), c.normEps());
            double[][] g = linear(h2, m.tensor(p + "ffn_gate.weight"), null), u = linear(h2, m.tensor(p + "ffn_up.weight"), null);
            for (int t = 0; t < n; t++) for (int i = 0; i < g[t].length; i++) g[t][i] = g[t][i] / (1 + Math.exp(-g[t][i])) * u[t][i];
            add(x, linear(g, m.tensor(p + "ffn_down.weight"), null));
        }
        Tensor out = m.tensor("output.weight") != null ? m.tensor("output.weight") : m.tensor("token_embd.weight");
        return linear(norm(x, vec(m.tensor("output_norm.weight")), c.normEps()), out, null);
    }

    static void rope(double[][] x, ModelConfig c) {
        int hd = c.headDim(), half = hd / 2;
        for (int t = 0; t < x.length; t++) {
            for (int h = 0; h < x[t].length / hd; h++) {
                for (int i = 0; i < half; i++) {
                    double theta = t * Math.pow(c.ropeTheta(), -2.0 * i / hd);
                    int a = h * hd + (c.rotaryLayout() == RotaryLayout.INTERLEAVED ? 2 * i : i);
                    int b = c.rotaryLayout() == RotaryLayout.INTERLEAVED ? a + 1 : a + half;
                    double x0 = x[t][a], x1 = x[t][b];
                    x[t][a] = x0 * Math.cos(theta) - x1 * Math.sin(theta);
                    x[t][b] = x0 * Math.sin(theta) + x1 * Math.cos(theta);
                }
            }
        }
    }

    static double[][] norm(double[][] x, double[] w, double eps) {
        double[][] o = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            double ss = 0;
            for (double v : x[t]) ss += v * v;
            double s = 1 / Math.sqrt(ss / x[t].length + eps);
            o[t] = new double[x[t].length];
            for (int i = 0; i < w.length; i++) o[t][i] = x[t][i] * s * w[i];
        }
        return o;
    }

    static double[][] linear(double[][] x, Tensor w, Tensor bias) {
        double[][] m = matrix(w);
        double[] b = bias == null ? null : vec(bias);
        double[][] o = new double[x.length][m.length];
        for (int t = 0; t < x.length; t++) {
            for (int r = 0; r < m.length; r++) {
                double s = b == null ? 0 : b[r];
                for (int i = 0; i < m[r].length; i++) s += m[r][i] * x[t][i];
                o[t][r] = s;
            }
        }
        return o;
    }

    static void add(double[][] x, double[][] y) {
        for (int t = 0; t < x.length; t++) for (int i = 0; i < x[t].length; i++) x[t][i] += y[t][i];
    }

    static double[] vec(Tensor t) {
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    static double[][] matrix(Tensor t) {
        float[] f = t.toFloatArray();
        double[][] m = new double[t.rows()][t.cols()];
        for (int r = 0; r < m.length; r++) for (int c = 0; c < m[r].length; c++) m[r][c] = f[r * t.cols() + c];
        return m;
    }
}
