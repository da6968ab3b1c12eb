package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** gate = silu(gate) * up over count elements (cuda-kernels/swiglu.cu). */
public final class SwiGluKernel {
    public static final ParamStruct PARAMS = ParamStruct.of("SwiGluParams", JAVA_LONG.withName("gate"), JAVA_LONG.withName("up"), JAVA_LONG.withName("count"));

    private SwiGluKernel() {}

    public static void launch(CudaKernels k, long stream, long gate, long up, long count) {
        MemorySegment p = k.params();
        p.set(JAVA_LONG, PARAMS.offset("gate"), gate);
        p.set(JAVA_LONG, PARAMS.offset("up"), up);
        p.set(JAVA_LONG, PARAMS.offset("count"), count);
        k.launch(k.swiglu, CudaKernels.blocks(count, 256, 4096), 1, 1, 256, stream);
    }
}
