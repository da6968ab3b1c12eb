package dev.longbow.cuda.reference;

/**
 * gemv_f16's and gemm_f16_tn's definition, accumulated in double: out[t][r] = sum_c W[r][c] x[t][c] (+ bias[r]),
 * W in F16. GEMV takes x in F32; the GEMM's activations are F16 (round them with {@link F16#of(float[])} first).
 */
public final class MatmulReference {
    private MatmulReference() {}

    public static float[] gemv(short[] w, float[] x, float[] bias, int rows, int cols, int n) {
        float[] out = new float[n * rows];
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < rows; r++) {
                double acc = bias == null ? 0 : bias[r];
                for (int c = 0; c < cols; c++) acc += (double) F16.value(w[r * cols + c]) * x[t * cols + c];
                out[t * rows + r] = (float) acc;
            }
        }
        return out;
    }

    /** C[m][n] = A[m][k] B[n][k]^T (+ bias[n]), A and B F16. */
    public static float[] gemm(short[] a, short[] b, float[] bias, int m, int n, int k) {
        float[] x = new float[m * k];
        for (int i = 0; i < x.length; i++) x[i] = F16.value(a[i]);
        return gemv(b, x, bias, n, k, m);
    }

    /** y[t][r] = scale[r] * sum_c w[r][c] x[t][c] (+ bias[r]) over INT8 rows, in double: what gemv_i8_row computes. */
    public static float[] gemvInt8Rows(byte[] w, float[] scale, float[] x, float[] bias, int rows, int cols, int n) {
        float[] y = new float[n * rows];
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                for (int c = 0; c < cols; c++) sum += w[r * cols + c] * (double) x[t * cols + c];
                y[t * rows + r] = (float) (sum * scale[r] + (bias == null ? 0 : bias[r]));
            }
        }
        return y;
    }

    /** F16(scale[r] * w[r][c]): what dequant_i8_row_f16 writes, as half bits. */
    public static short[] dequantizeInt8Rows(byte[] w, float[] scale, int rows, int cols) {
        short[] out = new short[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) out[r * cols + c] = Float.floatToFloat16(scale[r] * w[r * cols + c]);
        }
        return out;
    }

    /** The exact int32 sums C[m][n] = sum_k a[m][k] b[n][k]: what gemm_i8_tn writes raw (and torch._int_mm returns). */
    public static int[] gemmInt8(byte[] a, byte[] b, int m, int n, int k) {
        int[] c = new int[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                int sum = 0;
                for (int t = 0; t < k; t++) sum += a[i * k + t] * b[j * k + t];
                c[i * n + j] = sum;
            }
        }
        return c;
    }

    /** Per-row int8 quantization as the CPU's TokenInt8Activations does it: scale = amax / 127, CompressedLayout.quantize. */
    public static byte[] quantizeRowsInt8(float[] x, int rows, int cols, float[] scales) {
        byte[] q = new byte[rows * cols];
        for (int r = 0; r < rows; r++) {
            float amax = 0;
            for (int c = 0; c < cols; c++) amax = Math.max(amax, Math.abs(x[r * cols + c]));
            float scale = amax / 127f;
            scales[r] = scale;
            for (int c = 0; c < cols; c++) q[r * cols + c] = (byte) dev.longbow.tensor.CompressedLayout.quantize(x[r * cols + c], scale);
        }
        return q;
    }

    /** y[t][r] = sum_c w[r][c] x[t][c] (+ bias[r]) over a dense float matrix, in double: gemv_s24_*'s reference on the matrix a 2:4 one stands for. */
    public static float[] gemvDense(float[] w, float[] x, float[] bias, int rows, int cols, int n) {
        float[] y = new float[n * rows];
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                for (int c = 0; c < cols; c++) sum += w[r * cols + c] * (double) x[t * cols + c];
                y[t * rows + r] = (float) (sum + (bias == null ? 0 : bias[r]));
            }
        }
        return y;
    }
}
