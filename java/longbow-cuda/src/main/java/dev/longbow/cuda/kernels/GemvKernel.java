package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** cuda-kernels/gemv.cu: y[t] = W x[t] (+ bias) for up to {@link #MAX_TOKENS} tokens, W F16 read once. */
public final class GemvKernel {
    public static final int MAX_TOKENS = 8;
    public static final ParamStruct PARAMS = ParamStruct.of("GemvParams", JAVA_LONG.withName("w"), JAVA_LONG.withName("x"),
            JAVA_LONG.withName("y"), JAVA_LONG.withName("bias"), JAVA_INT.withName("rows"), JAVA_INT.withName("cols"),
            JAVA_INT.withName("n"), JAVA_INT.withName("x_stride"), JAVA_INT.withName("y_stride"), JAVA_INT.withName("pad"));

    private GemvKernel() {}

    /** Any n: tokens go through in groups of {@link #MAX_TOKENS}, each group reading W once. */
    public static void launch(CudaKernels k, long stream, long w, long x, long y, long bias, int rows, int cols, int n, int xStride, int yStride) {
        for (int t0 = 0; t0 < n; t0 += MAX_TOKENS) {
            MemorySegment p = k.params();
            p.set(JAVA_LONG, PARAMS.offset("w"), w);
            p.set(JAVA_LONG, PARAMS.offset("x"), x + 4L * t0 * xStride);
            p.set(JAVA_LONG, PARAMS.offset("y"), y + 4L * t0 * yStride);
            p.set(JAVA_LONG, PARAMS.offset("bias"), bias);
            p.set(JAVA_INT, PARAMS.offset("rows"), rows);
            p.set(JAVA_INT, PARAMS.offset("cols"), cols);
            p.set(JAVA_INT, PARAMS.offset("n"), Math.min(MAX_TOKENS, n - t0));
            p.set(JAVA_INT, PARAMS.offset("x_stride"), xStride);
            p.set(JAVA_INT, PARAMS.offset("y_stride"), yStride);
            k.launch(k.gemv, (rows + 7) / 8, 1, 1, 256, stream);
        }
    }
}
