package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** cuda-kernels/gemm.cu: C[m][n] = A[m][k] B[n][k]^T (+ bias) on tensor cores; A, B F16, C F32; k a multiple of 32. */
public final class GemmKernel {
    public static final int K_MULTIPLE = 32;
    public static final ParamStruct PARAMS = ParamStruct.of("GemmParams", JAVA_LONG.withName("a"), JAVA_LONG.withName("b"),
            JAVA_LONG.withName("c"), JAVA_LONG.withName("bias"), JAVA_INT.withName("m"), JAVA_INT.withName("n"),
            JAVA_INT.withName("k"), JAVA_INT.withName("ldc"));

    private GemmKernel() {}

    public static boolean supports(int k) {
        return k % K_MULTIPLE == 0;
    }

    public static void launch(CudaKernels ks, long stream, long a, long b, long c, long bias, int m, int n, int k, int ldc) {
        if (!supports(k)) throw new IllegalArgumentException("gemm_f16_tn needs k a multiple of " + K_MULTIPLE + ", got " + k);
        MemorySegment p = ks.params();
        p.set(JAVA_LONG, PARAMS.offset("a"), a);
        p.set(JAVA_LONG, PARAMS.offset("b"), b);
        p.set(JAVA_LONG, PARAMS.offset("c"), c);
        p.set(JAVA_LONG, PARAMS.offset("bias"), bias);
        p.set(JAVA_INT, PARAMS.offset("m"), m);
        p.set(JAVA_INT, PARAMS.offset("n"), n);
        p.set(JAVA_INT, PARAMS.offset("k"), k);
        p.set(JAVA_INT, PARAMS.offset("ldc"), ldc);
        ks.launch(ks.gemm, (n + 127) / 128, (m + 127) / 128, 1, 256, stream);
    }
}
