package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** cuda-kernels/argmax.cu: out[r] = the index of row r's largest logit (lowest index among equals). */
public final class ArgmaxKernel {
    public static final ParamStruct PARAMS = ParamStruct.of("ArgmaxParams", JAVA_LONG.withName("logits"), JAVA_LONG.withName("out"),
            JAVA_INT.withName("rows"), JAVA_INT.withName("vocab"));

    private ArgmaxKernel() {}

    public static void launch(CudaKernels k, long stream, long logits, long out, int rows, int vocab) {
        MemorySegment p = k.params();
        p.set(JAVA_LONG, PARAMS.offset("logits"), logits);
        p.set(JAVA_LONG, PARAMS.offset("out"), out);
        p.set(JAVA_INT, PARAMS.offset("rows"), rows);
        p.set(JAVA_INT, PARAMS.offset("vocab"), vocab);
        k.launch(k.argmax, rows, 1, 1, 1024, stream);
    }
}
