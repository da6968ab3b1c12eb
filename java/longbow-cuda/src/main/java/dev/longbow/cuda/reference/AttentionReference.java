package dev.longbow.cuda.reference;

/**
 * The attention kernels' definition, in double: query t (position startPos + t) of head h attends over positions
 * [max(0, pos - window + 1) if window > 0 else 0, pos] of KV head h / (heads / kvHeads), with scores
 * q.k / (sqrt(headDim) * temperature) and a softmax. Keys and values are as the paged cache holds them (F16): pass
 * them already rounded. The prefill kernel reads queries in F16 too (round them first); decode reads them in F32.
 */
public final class AttentionReference {
    private AttentionReference() {}

    /** q: [n][heads*headDim]; k, v: [positions][kvHeads*headDim]; returns [n][heads*headDim]. */
    public static float[] apply(float[] q, float[] k, float[] v, int n, int heads, int kvHeads, int headDim, int startPos,
                                int window, float temperature) {
        float[] out = new float[n * heads * headDim];
        int group = heads / kvHeads, qStride = heads * headDim, kvStride = kvHeads * headDim;
        double scale = 1 / (Math.sqrt(headDim) * temperature);
        for (int t = 0; t < n; t++) {
            int pos = startPos + t, lo = window > 0 ? Math.max(0, pos - window + 1) : 0;
            for (int h = 0; h < heads; h++) {
                int kvh = h / group;
                double[] s = new double[pos - lo + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = lo; j <= pos; j++) {
                    double d = 0;
                    for (int i = 0; i < headDim; i++) d += (double) q[t * qStride + h * headDim + i] * k[j * kvStride + kvh * headDim + i];
                    s[j - lo] = d * scale;
                    max = Math.max(max, s[j - lo]);
                }
                double sum = 0;
                for (int j = 0; j < s.length; j++) sum += s[j] = Math.exp(s[j] - max);
                for (int i = 0; i < headDim; i++) {
                    double acc = 0;
                    for (int j = lo; j <= pos; j++) acc += s[j - lo] * v[j * kvStride + kvh * headDim + i];
                    out[t * qStride + h * headDim + i] = (float) (acc / sum);
                }
            }
        }
        return out;
    }
}
