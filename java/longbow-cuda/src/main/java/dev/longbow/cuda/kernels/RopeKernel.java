package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** cuda-kernels/rope.cu: rotates n rows of heads by positions startPos.. from an inv_freq table and attention factor. */
public final class RopeKernel {
    public static final ParamStruct PARAMS = ParamStruct.of("RopeParams", JAVA_LONG.withName("x"), JAVA_LONG.withName("inv_freq"),
            JAVA_LONG.withName("start_pos_ptr"), JAVA_INT.withName("n"), JAVA_INT.withName("heads"), JAVA_INT.withName("head_dim"), JAVA_INT.withName("row_stride"),
            JAVA_INT.withName("start_pos"), JAVA_INT.withName("interleaved"), JAVA_FLOAT.withName("factor"), JAVA_INT.withName("pad"));

    private RopeKernel() {}

    public static void launch(CudaKernels k, long stream, long x, long invFreq, int n, int heads, int headDim, int rowStride,
                              int startPos, boolean interleaved, float factor) {
        launch(k, stream, x, invFreq, n, heads, headDim, rowStride, startPos, 0, interleaved, factor);
    }

    /** startPosPtr: 0, or a device int holding the start position (read at run time: a captured graph's steps). */
    public static void launch(CudaKernels k, long stream, long x, long invFreq, int n, int heads, int headDim, int rowStride,
                              int startPos, long startPosPtr, boolean interleaved, float factor) {
        MemorySegment p = k.params();
        p.set(JAVA_LONG, PARAMS.offset("start_pos_ptr"), startPosPtr);
        p.set(JAVA_LONG, PARAMS.offset("x"), x);
        p.set(JAVA_LONG, PARAMS.offset("inv_freq"), invFreq);
        p.set(JAVA_INT, PARAMS.offset("n"), n);
        p.set(JAVA_INT, PARAMS.offset("heads"), heads);
        p.set(JAVA_INT, PARAMS.offset("head_dim"), headDim);
        p.set(JAVA_INT, PARAMS.offset("row_stride"), rowStride);
        p.set(JAVA_INT, PARAMS.offset("start_pos"), startPos);
        p.set(JAVA_INT, PARAMS.offset("interleaved"), interleaved ? 1 : 0);
        p.set(JAVA_FLOAT, PARAMS.offset("factor"), factor);
        k.launch(k.rope, n, heads, 1, headDim / 2, stream);
    }
}
