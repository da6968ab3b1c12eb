package dev.longbow.backend.cpu;

import dev.longbow.tensor.CompressedLayout;

/**
 * Activation rows quantized to int8 with one dynamic scale per token (its largest magnitude maps to 127), for W8A8
 * weights ({@link dev.longbow.tensor.WeightType#I8_ROW_A8}): a row's dot product is one integer sum times the
 * weight row's scale and the token's. The rounding is {@link CompressedLayout#quantize}, the same as the weights'.
 */
final class TokenInt8Activations {
    private byte[] q = new byte[0];
    private float[] scales = new float[0];
    private int cols;

    /** Quantizes the first n rows of x into this buffer (reused across calls under the pool's lock) and returns it. */
    TokenInt8Activations quantize(CpuAct x, int n) {
        cols = x.cols();
        if (q.length < n * cols) q = new byte[n * cols];
        if (scales.length < n) scales = new float[n];
        float[] d = x.data();
        for (int t = 0; t < n; t++) {
            int base = x.at(t);
            float amax = 0;
            for (int j = 0; j < cols; j++) amax = Math.max(amax, Math.abs(d[base + j]));
            float scale = amax / 127f;
            scales[t] = scale;
            for (int j = 0; j < cols; j++) q[t * cols + j] = (byte) CompressedLayout.quantize(d[base + j], scale);
        }
        return this;
    }

    byte[] values() {
        return q;
    }

    int offset(int t) {
        return t * cols;
    }

    float scale(int t) {
        return scales[t];
    }

    /** Per-token scales, token t at [t]. */
    float[] scales() {
        return scales;
    }
}
