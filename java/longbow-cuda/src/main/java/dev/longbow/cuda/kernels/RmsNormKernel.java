package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** cuda-kernels/rmsnorm.cu: x += residual (when not 0); out / outHalf (when not 0) = x / rms(x) * weight. */
public final class RmsNormKernel {
    public static final ParamStruct PARAMS = ParamStruct.of("RmsNormParams", JAVA_LONG.withName("x"), JAVA_LONG.withName("residual"),
            JAVA_LONG.withName("weight"), JAVA_LONG.withName("out"), JAVA_LONG.withName("out_half"), JAVA_INT.withName("rows"),
            JAVA_INT.withName("cols"), JAVA_FLOAT.withName("eps"), JAVA_INT.withName("pad"));

    private RmsNormKernel() {}

    public static void launch(CudaKernels k, long stream, long x, long residual, long weight, long out, long outHalf, int rows, int cols, float eps) {
        MemorySegment p = k.params();
        p.set(JAVA_LONG, PARAMS.offset("x"), x);
        p.set(JAVA_LONG, PARAMS.offset("residual"), residual);
        p.set(JAVA_LONG, PARAMS.offset("weight"), weight);
        p.set(JAVA_LONG, PARAMS.offset("out"), out);
        p.set(JAVA_LONG, PARAMS.offset("out_half"), outHalf);
        p.set(JAVA_INT, PARAMS.offset("rows"), rows);
        p.set(JAVA_INT, PARAMS.offset("cols"), cols);
        p.set(JAVA_FLOAT, PARAMS.offset("eps"), eps);
        k.launch(k.rmsnorm, rows, 1, 1, 256, stream);
    }
}
