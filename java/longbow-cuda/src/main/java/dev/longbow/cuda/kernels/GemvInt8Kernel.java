package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuda-kernels/gemv_int8.cu: W8A16 matrices (INT8 rows, one f32 scale per row). Decode: y[t] = scale * (W x[t])
 * (+ bias) for up to {@link GemvKernel#MAX_TOKENS} tokens, W read once. Prefill: W widened to an F16 scratch matrix
 * for the tensor-core GEMM.
 */
public final class GemvInt8Kernel {
    public static final ParamStruct PARAMS = ParamStruct.of("GemvInt8Params", JAVA_LONG.withName("w"), JAVA_LONG.withName("scale"),
            JAVA_LONG.withName("x"), JAVA_LONG.withName("y"), JAVA_LONG.withName("bias"), JAVA_INT.withName("rows"), JAVA_INT.withName("cols"),
            JAVA_INT.withName("n"), JAVA_INT.withName("x_stride"), JAVA_INT.withName("y_stride"), JAVA_INT.withName("pad"));
    public static final ParamStruct DEQUANT_PARAMS = ParamStruct.of("DequantInt8Params", JAVA_LONG.withName("w"), JAVA_LONG.withName("scale"),
            JAVA_LONG.withName("dst"), JAVA_LONG.withName("count"), JAVA_INT.withName("cols"), JAVA_INT.withName("pad"));

    private GemvInt8Kernel() {}

    /** Any n: tokens go through in groups of {@link GemvKernel#MAX_TOKENS}, each group reading W once. */
    public static void launch(CudaKernels k, long stream, long w, long scale, long x, long y, long bias, int rows, int cols, int n,
                              int xStride, int yStride) {
        for (int t0 = 0; t0 < n; t0 += GemvKernel.MAX_TOKENS) {
            MemorySegment p = k.params();
            p.set(JAVA_LONG, PARAMS.offset("w"), w);
            p.set(JAVA_LONG, PARAMS.offset("scale"), scale);
            p.set(JAVA_LONG, PARAMS.offset("x"), x + 4L * t0 * xStride);
            p.set(JAVA_LONG, PARAMS.offset("y"), y + 4L * t0 * yStride);
            p.set(JAVA_LONG, PARAMS.offset("bias"), bias);
            p.set(JAVA_INT, PARAMS.offset("rows"), rows);
            p.set(JAVA_INT, PARAMS.offset("cols"), cols);
            p.set(JAVA_INT, PARAMS.offset("n"), Math.min(GemvKernel.MAX_TOKENS, n - t0));
            p.set(JAVA_INT, PARAMS.offset("x_stride"), xStride);
            p.set(JAVA_INT, PARAMS.offset("y_stride"), yStride);
            k.launch(k.gemvInt8, (rows + 7) / 8, 1, 1, 256, stream);
        }
    }

    /** dst[r][c] = F16(scale[r] * w[r][c]) over a rows x cols matrix. */
    public static void dequantize(CudaKernels k, long stream, long w, long scale, long dst, int rows, int cols) {
        long count = (long) rows * cols;
        MemorySegment p = k.params();
        p.set(JAVA_LONG, DEQUANT_PARAMS.offset("w"), w);
        p.set(JAVA_LONG, DEQUANT_PARAMS.offset("scale"), scale);
        p.set(JAVA_LONG, DEQUANT_PARAMS.offset("dst"), dst);
        p.set(JAVA_LONG, DEQUANT_PARAMS.offset("count"), count);
        p.set(JAVA_INT, DEQUANT_PARAMS.offset("cols"), cols);
        k.launch(k.dequantInt8, CudaKernels.blocks(count, 256, 8192), 1, 1, 256, stream);
    }
}
