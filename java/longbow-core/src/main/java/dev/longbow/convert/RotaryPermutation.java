package dev.longbow.convert;

import dev.longbow.model.RotaryLayout;

/**
 * Moves q/k projection rows between RoPE layouts. Within each head, half-split row {@code c * d/2 + i} and
 * interleaved row {@code 2i + c} hold the same feature (pair i, component c); permuting both q and k the same
 * way leaves every attention score unchanged.
 */
public final class RotaryPermutation {
    private RotaryPermutation() {}

    /** The source row that lands at row {@code row} when converting {@code from} to the other layout. */
    public static int sourceRow(int row, int headDim, RotaryLayout from) {
        int head = row / headDim, j = row % headDim, half = headDim / 2;
        int src = from == RotaryLayout.HALF_SPLIT
                ? (j % 2) * half + j / 2   // target interleaved 2i + c <- half-split c*half + i
                : 2 * (j % half) + j / half; // target half-split c*half + i <- interleaved 2i + c
        return head * headDim + src;
    }

    /** Permutes whole rows of a row-major {rows x cols} float matrix (or a vector when cols is 1). */
    public static float[] permuteRows(float[] m, int rows, int cols, int headDim, RotaryLayout from) {
        float[] out = new float[m.length];
        for (int r = 0; r < rows; r++) System.arraycopy(m, sourceRow(r, headDim, from) * cols, out, r * cols, cols);
        return out;
    }
}
