package dev.longbow.compress;

/**
 * What calibration records about the inputs of one linear layer: per input channel the largest magnitude and the
 * sum of squares, the token count, and (when asked for) the Gram matrix H = X^T X of the inputs, in double.
 */
public final class ActivationStats {
    final int cols;
    final double[] absMax, sumSquares;
    /** Row-major cols x cols, or null when not collected. */
    final double[] gram;
    long tokens;

    ActivationStats(int cols, boolean withGram) {
        this.cols = cols;
        this.absMax = new double[cols];
        this.sumSquares = new double[cols];
        this.gram = withGram ? new double[cols * cols] : null;
    }

    void add(float[] x) {
        for (int j = 0; j < cols; j++) {
            double v = x[j];
            absMax[j] = Math.max(absMax[j], Math.abs(v));
            sumSquares[j] += v * v;
        }
        if (gram != null) {
            for (int i = 0; i < cols; i++) {
                double xi = x[i];
                if (xi == 0) continue;
                int row = i * cols;
                for (int j = i; j < cols; j++) gram[row + j] += xi * x[j];
            }
        }
        tokens++;
    }

    /** H with its lower triangle filled in from the upper one, which is all {@link #add} accumulates. */
    double[] symmetricGram() {
        double[] h = gram.clone();
        for (int i = 0; i < cols; i++) for (int j = 0; j < i; j++) h[i * cols + j] = h[j * cols + i];
        return h;
    }

    public double[] meanSquares() {
        double[] m = new double[cols];
        for (int j = 0; j < cols; j++) m[j] = tokens == 0 ? 0 : sumSquares[j] / tokens;
        return m;
    }

    public double[] absMax() {
        return absMax.clone();
    }

    /** trace(X^T X) / n: the mean squared norm of an input row. */
    public double traceOverTokens() {
        double s = 0;
        for (double v : sumSquares) s += v;
        return tokens == 0 ? 0 : s / tokens;
    }

    public long tokens() {
        return tokens;
    }
}
