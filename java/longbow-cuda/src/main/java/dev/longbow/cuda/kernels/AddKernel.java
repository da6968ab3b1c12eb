package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** x += y over count elements (cuda-kernels/add.cu). */
public final class AddKernel {
    public static final ParamStruct PARAMS = ParamStruct.of("AddParams", JAVA_LONG.withName("x"), JAVA_LONG.withName("y"), JAVA_LONG.withName("count"));

    private AddKernel() {}

    public static void launch(CudaKernels k, long stream, long x, long y, long count) {
        MemorySegment p = k.params();
        p.set(JAVA_LONG, PARAMS.offset("x"), x);
        p.set(JAVA_LONG, PARAMS.offset("y"), y);
        p.set(JAVA_LONG, PARAMS.offset("count"), count);
        k.launch(k.add, CudaKernels.blocks(count, 256, 4096), 1, 1, 256, stream);
    }
}
