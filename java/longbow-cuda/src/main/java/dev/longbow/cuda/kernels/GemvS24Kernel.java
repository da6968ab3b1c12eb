package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuda-kernels/gemv_s24.cu: 2:4 sparse matrices in Longbow's layout (F16 kept values, or INT8 with a row scale).
 * Decode: y[t] = W x[t] (+ bias) for up to {@link GemvKernel#MAX_TOKENS} tokens, reading only the compressed bytes.
 * Prefill: W widened to dense F16 for the tensor-core GEMM.
 */
public final class GemvS24Kernel {
    public static final ParamStruct PARAMS = ParamStruct.of("GemvS24Params", JAVA_LONG.withName("values"), JAVA_LONG.withName("index"),
            JAVA_LONG.withName("scale"), JAVA_LONG.withName("x"), JAVA_LONG.withName("y"), JAVA_LONG.withName("bias"),
            JAVA_INT.withName("rows"), JAVA_INT.withName("cols"), JAVA_INT.withName("n"), JAVA_INT.withName("x_stride"),
            JAVA_INT.withName("y_stride"), JAVA_INT.withName("pad"));

    private GemvS24Kernel() {}

    /** {@code scale} 0 for F16 kept values, the row scales for INT8 ones; any n, in groups of MAX_TOKENS. */
    public static void launch(CudaKernels k, long stream, long values, long index, long scale, long x, long y, long bias, int rows, int cols,
                              int n, int xStride, int yStride) {
        for (int t0 = 0; t0 < n; t0 += GemvKernel.MAX_TOKENS) {
            MemorySegment p = fill(k, values, index, scale, rows, cols);
            p.set(JAVA_LONG, PARAMS.offset("x"), x + 4L * t0 * xStride);
            p.set(JAVA_LONG, PARAMS.offset("y"), y + 4L * t0 * yStride);
            p.set(JAVA_LONG, PARAMS.offset("bias"), bias);
            p.set(JAVA_INT, PARAMS.offset("n"), Math.min(GemvKernel.MAX_TOKENS, n - t0));
            p.set(JAVA_INT, PARAMS.offset("x_stride"), xStride);
            p.set(JAVA_INT, PARAMS.offset("y_stride"), yStride);
            k.launch(scale == 0 ? k.gemvS24F16 : k.gemvS24I8, (rows + 7) / 8, 1, 1, 256, stream);
        }
    }

    /** dst = the dense F16 rows x cols matrix W stands for (INT8 kept values times their row scale, rounded once). */
    public static void widen(CudaKernels k, long stream, long values, long index, long scale, long dst, int rows, int cols) {
        MemorySegment p = fill(k, values, index, scale, rows, cols);
        p.set(JAVA_LONG, PARAMS.offset("y"), dst);
        k.launch(scale == 0 ? k.widenS24F16 : k.widenS24I8, CudaKernels.blocks((long) rows * (cols / 4), 256, 8192), 1, 1, 256, stream);
    }

    private static MemorySegment fill(CudaKernels k, long values, long index, long scale, int rows, int cols) {
        if (cols % 4 != 0) throw new IllegalArgumentException("2:4 rows need cols a multiple of 4, got " + cols);
        MemorySegment p = k.params();
        p.set(JAVA_LONG, PARAMS.offset("values"), values);
        p.set(JAVA_LONG, PARAMS.offset("index"), index);
        p.set(JAVA_LONG, PARAMS.offset("scale"), scale);
        p.set(JAVA_INT, PARAMS.offset("rows"), rows);
        p.set(JAVA_INT, PARAMS.offset("cols"), cols);
        return p;
    }
}
