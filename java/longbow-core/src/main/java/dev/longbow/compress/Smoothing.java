package dev.longbow.compress;

/**
 * SmoothQuant's per-input-channel smoothing: activations that reach a layer through an RMSNorm are divided by s_j
 * and the layer's weight columns multiplied by it, so the product is unchanged while outliers move from the
 * activations (quantized per token, where one outlier channel costs every other channel its precision) into the
 * weights (quantized per row). s_j = max|x_j|^alpha / max_i |W_ij|^(1 - alpha), taken over every layer the norm feeds
 * (q, k and v share one norm, as gate and up do), and the division is folded into the norm's weight: free at run time.
 */
public final class Smoothing {
    private Smoothing() {}

    public static final double DEFAULT_ALPHA = 0.5;

    /** The factors for one norm's consumers ({rows_k, cols} row-major matrices sharing the input). */
    public static float[] factors(double[] inputAbsMax, float[][] weights, int cols, double alpha) {
        float[] s = new float[cols];
        for (int j = 0; j < cols; j++) {
            double wmax = 0;
            for (float[] w : weights) for (int r = 0; r < w.length / cols; r++) wmax = Math.max(wmax, Math.abs(w[r * cols + j]));
            double x = inputAbsMax[j];
            double v = x > 0 && wmax > 0 ? Math.pow(x, alpha) / Math.pow(wmax, 1 - alpha) : 1;
            s[j] = (float) Math.max(1e-5, v);
        }
        return s;
    }

    /** norm_j / s_j, the folded norm weight. */
    public static float[] foldIntoNorm(float[] norm, float[] s) {
        float[] out = new float[norm.length];
        for (int j = 0; j < norm.length; j++) out[j] = norm[j] / s[j];
        return out;
    }

    /** W_ij * s_j. */
    public static float[] scaleColumns(float[] w, float[] s) {
        int cols = s.length;
        float[] out = new float[w.length];
        for (int i = 0; i < w.length; i++) out[i] = w[i] * s[i % cols];
        return out;
    }
}
