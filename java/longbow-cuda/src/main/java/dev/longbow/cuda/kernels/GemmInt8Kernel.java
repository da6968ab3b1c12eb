package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuda-kernels/gemm_int8.cu: W8A8 on INT8 tensor cores. {@link #quantizeRows} turns F32 activation rows into int8
 * with one scale per row; {@link #launch} computes C[m][n] = A[m][k] B[n][k]^T with int32 sums, written raw (a null
 * {@code aScale}) or as a_scale * b_scale * sum (+ bias) in F32. k a multiple of {@link #K_MULTIPLE}.
 */
public final class GemmInt8Kernel {
    public static final int K_MULTIPLE = 64;
    public static final ParamStruct PARAMS = ParamStruct.of("GemmInt8Params", JAVA_LONG.withName("a"), JAVA_LONG.withName("b"),
            JAVA_LONG.withName("c"), JAVA_LONG.withName("a_scale"), JAVA_LONG.withName("b_scale"), JAVA_LONG.withName("bias"),
            JAVA_INT.withName("m"), JAVA_INT.withName("n"), JAVA_INT.withName("k"), JAVA_INT.withName("ldc"));
    public static final ParamStruct QUANTIZE_PARAMS = ParamStruct.of("QuantizeRowsParams", JAVA_LONG.withName("x"), JAVA_LONG.withName("q"),
            JAVA_LONG.withName("scale"), JAVA_INT.withName("rows"), JAVA_INT.withName("cols"));

    private GemmInt8Kernel() {}

    public static boolean supports(int k) {
        return k % K_MULTIPLE == 0;
    }

    public static void launch(CudaKernels ks, long stream, long a, long b, long c, long aScale, long bScale, long bias, int m, int n, int k, int ldc) {
        if (!supports(k)) throw new IllegalArgumentException("gemm_i8_tn needs k a multiple of " + K_MULTIPLE + ", got " + k);
        MemorySegment p = ks.params();
        p.set(JAVA_LONG, PARAMS.offset("a"), a);
        p.set(JAVA_LONG, PARAMS.offset("b"), b);
        p.set(JAVA_LONG, PARAMS.offset("c"), c);
        p.set(JAVA_LONG, PARAMS.offset("a_scale"), aScale);
        p.set(JAVA_LONG, PARAMS.offset("b_scale"), bScale);
        p.set(JAVA_LONG, PARAMS.offset("bias"), bias);
        p.set(JAVA_INT, PARAMS.offset("m"), m);
        p.set(JAVA_INT, PARAMS.offset("n"), n);
        p.set(JAVA_INT, PARAMS.offset("k"), k);
        p.set(JAVA_INT, PARAMS.offset("ldc"), ldc);
        ks.launch(ks.gemmInt8, (n + 127) / 128, (m + 127) / 128, 1, 256, stream);
    }

    /** q[r] = int8(x[r] / scale[r]), scale[r] = max |x[r]| / 127, for rows x cols F32 values. */
    public static void quantizeRows(CudaKernels ks, long stream, long x, long q, long scale, int rows, int cols) {
        MemorySegment p = ks.params();
        p.set(JAVA_LONG, QUANTIZE_PARAMS.offset("x"), x);
        p.set(JAVA_LONG, QUANTIZE_PARAMS.offset("q"), q);
        p.set(JAVA_LONG, QUANTIZE_PARAMS.offset("scale"), scale);
        p.set(JAVA_INT, QUANTIZE_PARAMS.offset("rows"), rows);
        p.set(JAVA_INT, QUANTIZE_PARAMS.offset("cols"), cols);
        ks.launch(ks.quantizeRows, rows, 1, 1, 256, stream);
    }
}
