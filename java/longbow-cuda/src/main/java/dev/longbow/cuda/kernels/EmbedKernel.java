package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** cuda-kernels/embed.cu: out[t] = table[tokens[t]], F16 table to F32 rows. */
public final class EmbedKernel {
    public static final ParamStruct PARAMS = ParamStruct.of("EmbedParams", JAVA_LONG.withName("table"), JAVA_LONG.withName("tokens"),
            JAVA_LONG.withName("out"), JAVA_INT.withName("n"), JAVA_INT.withName("dim"), JAVA_INT.withName("vocab"), JAVA_INT.withName("pad"));

    private EmbedKernel() {}

    public static void launch(CudaKernels k, long stream, long table, long tokens, long out, int n, int dim, int vocab) {
        MemorySegment p = k.params();
        p.set(JAVA_LONG, PARAMS.offset("table"), table);
        p.set(JAVA_LONG, PARAMS.offset("tokens"), tokens);
        p.set(JAVA_LONG, PARAMS.offset("out"), out);
        p.set(JAVA_INT, PARAMS.offset("n"), n);
        p.set(JAVA_INT, PARAMS.offset("dim"), dim);
        p.set(JAVA_INT, PARAMS.offset("vocab"), vocab);
        k.launch(k.embed, n, 1, 1, 256, stream);
    }
}
