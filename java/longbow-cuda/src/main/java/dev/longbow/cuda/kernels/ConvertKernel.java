package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** dst = F16(src) over count elements, the tensor-core kernels' input (cuda-kernels/convert.cu). */
public final class ConvertKernel {
    public static final ParamStruct PARAMS = ParamStruct.of("ConvertParams", JAVA_LONG.withName("src"), JAVA_LONG.withName("dst"), JAVA_LONG.withName("count"));

    private ConvertKernel() {}

    public static void launch(CudaKernels k, long stream, long src, long dst, long count) {
        MemorySegment p = k.params();
        p.set(JAVA_LONG, PARAMS.offset("src"), src);
        p.set(JAVA_LONG, PARAMS.offset("dst"), dst);
        p.set(JAVA_LONG, PARAMS.offset("count"), count);
        k.launch(k.convert, CudaKernels.blocks(count, 256, 4096), 1, 1, 256, stream);
    }
}
