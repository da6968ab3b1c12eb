package dev.longbow.cuda.reference;

import dev.longbow.backend.Rope;
import dev.longbow.model.RotaryLayout;

/**
 * rope's definition: each pair of each head rotated by Rope.angle(position, pair), cos and sin times the attention
 * factor; the pairing follows the layout. The table is any RopeScaling method's (the kernel never sees the method).
 */
public final class RopeReference {
    private RopeReference() {}

    public static void apply(float[] x, int rows, int heads, int rowStride, Rope rope, int startPos) {
        int hd = rope.headDim(), half = hd / 2;
        boolean interleaved = rope.layout() == RotaryLayout.INTERLEAVED;
        for (int t = 0; t < rows; t++) {
            for (int h = 0; h < heads; h++) {
                int base = t * rowStride + h * hd;
                for (int i = 0; i < half; i++) {
                    double a = rope.angle(startPos + t, i);
                    float c = (float) Math.cos(a) * rope.attentionFactor(), s = (float) Math.sin(a) * rope.attentionFactor();
                    int i0 = interleaved ? base + 2 * i : base + i, i1 = interleaved ? i0 + 1 : i0 + half;
                    float v0 = x[i0], v1 = x[i1];
                    x[i0] = v0 * c - v1 * s;
                    x[i1] = v0 * s + v1 * c;
                }
            }
        }
    }
}
