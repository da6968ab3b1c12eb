package dev.longbow.cuda.reference;

/** rmsnorm_residual's definition: x += residual (when given); out = x / sqrt(mean(x^2) + eps) * weight, in double. */
public final class RmsNormReference {
    private RmsNormReference() {}

    /** Updates x in place when residual is not null; returns out. */
    public static float[] apply(float[] x, float[] residual, float[] weight, int rows, int cols, float eps) {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                if (residual != null) x[i] += residual[i];
                ss += (double) x[i] * x[i];
            }
            double scale = 1 / Math.sqrt(ss / cols + eps);
            for (int c = 0; c < cols; c++) out[r * cols + c] = (float) (x[r * cols + c] * scale * weight[c]);
        }
        return out;
    }
}
