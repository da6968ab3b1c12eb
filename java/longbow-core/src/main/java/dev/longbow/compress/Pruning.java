package dev.longbow.compress;

import dev.longbow.LongbowException;
import dev.longbow.tensor.CompressedLayout;

/**
 * 2:4 pruning of one {rows, cols} row-major weight matrix: of every 4 consecutive weights along the input
 * dimension, 2 are set to zero. Three ways to choose them: by magnitude |w|; by Wanda's |w| * ||x_j|| (the input
 * channel's norm over the calibration tokens); and by SparseGPT, which chooses with the inverse Hessian of the
 * layer's reconstruction error and updates the weights it keeps to compensate (optimal brain surgeon, column by
 * column, in blocks with lazy updates as in Frantar and Alistarh's reference code).
 */
public final class Pruning {
    private Pruning() {}

    public enum Method {
        SPARSEGPT, WANDA, MAGNITUDE;

        public static Method parse(String s) {
            for (Method m : values()) if (m.name().equalsIgnoreCase(s)) return m;
            throw new LongbowException("unknown pruning method '" + s + "' (sparsegpt, wanda, magnitude)");
        }
    }

    /** Checks a layer can take the 2:4 pattern. */
    public static void checkShape(String name, int cols) {
        if (cols % 4 != 0) throw new LongbowException("cannot prune " + name + " to 2:4: its rows have " + cols + " values, not a multiple of 4");
    }

    public static float[] magnitude(float[] w, int rows, int cols) {
        double[] score = new double[w.length];
        for (int i = 0; i < w.length; i++) score[i] = Math.abs(w[i]);
        return keepTopTwo(w, score, cols);
    }

    /** Wanda: |w_ij| * sqrt(sum over tokens of x_j^2). */
    public static float[] wanda(float[] w, int rows, int cols, double[] inputSumSquares) {
        double[] score = new double[w.length];
        for (int i = 0; i < w.length; i++) score[i] = Math.abs(w[i]) * Math.sqrt(inputSumSquares[i % cols]);
        return keepTopTwo(w, score, cols);
    }

    /** Zeroes the two lowest scores of each group of 4 (ties: the later position goes). */
    private static float[] keepTopTwo(float[] w, double[] score, int cols) {
        float[] out = w.clone();
        for (int g = 0; g < w.length; g += 4) {
            int a = g, b = g + 1; // the two smallest so far, score[a] <= score[b]
            if (score[g + 1] <= score[g]) { a = g + 1; b = g; }
            for (int j = g + 2; j < g + 4; j++) {
                if (score[j] <= score[a]) { b = a; a = j; }
                else if (score[j] <= score[b]) b = j;
            }
            out[a] = 0;
            out[b] = 0;
        }
        return out;
    }

    /**
     * SparseGPT 2:4. {@code gram} is H = X^T X over the calibration inputs (cols x cols, symmetric), dampened here by
     * {@code damp} times its mean diagonal. With {@code int8Scales} the weights kept are also quantized to INT8 with
     * those row scales as the pass goes (the quantization error joins the pruning error the remaining columns absorb,
     * as in the paper's joint mode), and the result holds the values the scales stand for.
     * <p>Candidates are ranked by w^2 / [U]_jj^2 with U the upper Cholesky factor of H^-1: its diagonal is what
     * [H^-1]_jj becomes after the columns before j have been eliminated, which is the OBS saliency w^2 / [H^-1]_jj of the
     * sequential pass, and the row update after column i is err_i * U[i, i..].
     */
    public static float[] sparseGpt(float[] w, int rows, int cols, double[] gram, double damp, int blockSize, float[] int8Scales) {
        if (blockSize % 4 != 0) throw new IllegalArgumentException("block size must be a multiple of 4");
        double[] h = gram.clone();
        double[] W = new double[w.length];
        for (int i = 0; i < w.length; i++) W[i] = w[i];
        double meanDiag = 0;
        for (int i = 0; i < cols; i++) meanDiag += h[i * cols + i];
        meanDiag /= cols;
        for (int i = 0; i < cols; i++) {
            if (h[i * cols + i] == 0) { // an input that never fires: its weights cannot matter
                h[i * cols + i] = 1;
                for (int r = 0; r < rows; r++) W[r * cols + i] = 0;
            }
        }
        double d = damp * (meanDiag > 0 ? meanDiag : 1);
        for (int i = 0; i < cols; i++) h[i * cols + i] += d;
        double[] u = upperCholeskyOfInverse(h, cols);

        double[] err = new double[rows * blockSize];
        boolean[] pruned = new boolean[rows * 4];
        double[] s = new double[4];
        for (int i1 = 0; i1 < cols; i1 += blockSize) {
            int i2 = Math.min(cols, i1 + blockSize), count = i2 - i1;
            for (int i = 0; i < count; i++) {
                int c = i1 + i;
                double dcc = u[c * cols + c];
                if (i % 4 == 0) {
                    for (int r = 0; r < rows; r++) {
                        for (int j = 0; j < 4; j++) {
                            double v = W[r * cols + c + j], dj = u[(c + j) * cols + c + j];
                            s[j] = v * v / (dj * dj);
                        }
                        int a = 0, b = 1;
                        if (s[1] < s[0]) { a = 1; b = 0; }
                        for (int j = 2; j < 4; j++) {
                            if (s[j] < s[a]) { b = a; a = j; }
                            else if (s[j] < s[b]) b = j;
                        }
                        for (int j = 0; j < 4; j++) pruned[r * 4 + j] = j == a || j == b;
                    }
                }
                for (int r = 0; r < rows; r++) {
                    double v = W[r * cols + c];
                    double q = pruned[r * 4 + (i % 4)] ? 0
                            : int8Scales == null ? v : int8Scales[r] * CompressedLayout.quantize((float) v, int8Scales[r]);
                    double e = (v - q) / dcc;
                    W[r * cols + c] = q;
                    err[r * blockSize + i] = e;
                    // Within the block, every later column absorbs this one's error now.
                    for (int j = i + 1; j < count; j++) W[r * cols + i1 + j] -= e * u[c * cols + i1 + j];
                }
            }
            // Later blocks receive the block's errors in one product: Err (rows x count) times U[i1:i2, i2:].
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < count; i++) {
                    double e = err[r * blockSize + i];
                    if (e == 0) continue;
                    int urow = (i1 + i) * cols;
                    for (int j = i2; j < cols; j++) W[r * cols + j] -= e * u[urow + j];
                }
            }
        }
        float[] out = new float[w.length];
        for (int i = 0; i < w.length; i++) out[i] = (float) W[i];
        return out;
    }

    /** U with H^-1 = U^T U, U upper triangular (n x n row-major), through H's own Cholesky factor. */
    static double[] upperCholeskyOfInverse(double[] h, int n) {
        double[] l = cholesky(h, n);
        // L^-1 by forward substitution, column by column.
        double[] li = new double[n * n];
        for (int c = 0; c < n; c++) {
            li[c * n + c] = 1 / l[c * n + c];
            for (int r = c + 1; r < n; r++) {
                double s = 0;
                for (int k = c; k < r; k++) s += l[r * n + k] * li[k * n + c];
                li[r * n + c] = -s / l[r * n + r];
            }
        }
        // H^-1 = L^-T L^-1.
        double[] inv = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                double s = 0;
                for (int k = j; k < n; k++) s += li[k * n + i] * li[k * n + j];
                inv[i * n + j] = s;
                inv[j * n + i] = s;
            }
        }
        double[] lInv = cholesky(inv, n);
        double[] u = new double[n * n];
        for (int i = 0; i < n; i++) for (int j = i; j < n; j++) u[i * n + j] = lInv[j * n + i];
        return u;
    }

    /** Lower Cholesky factor of a symmetric positive definite matrix. */
    static double[] cholesky(double[] a, int n) {
        double[] l = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double s = a[i * n + j];
                for (int k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
                if (i == j) {
                    if (!(s > 0)) throw new LongbowException("the layer's Hessian is not positive definite even after dampening; raise --damp");
                    l[i * n + i] = Math.sqrt(s);
                } else {
                    l[i * n + j] = s / l[j * n + j];
                }
            }
        }
        return l;
    }

    /** ||W X^T - W' X^T||_F^2 = sum over rows of (w - w')^T H (w - w'), from the Gram matrix H = X^T X. */
    public static double reconstructionError(float[] w, float[] pruned, int rows, int cols, double[] gram) {
        double total = 0;
        double[] delta = new double[cols];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) delta[j] = (double) w[r * cols + j] - pruned[r * cols + j];
            for (int i = 0; i < cols; i++) {
                if (delta[i] == 0) continue;
                double s = 0;
                for (int j = 0; j < cols; j++) s += gram[i * cols + j] * delta[j];
                total += delta[i] * s;
            }
        }
        return total;
    }
}
