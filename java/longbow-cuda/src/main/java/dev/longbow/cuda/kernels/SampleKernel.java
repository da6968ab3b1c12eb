package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuda-kernels/sample.cu: top-k (1..{@link #MAX_K}) / top-p / min-p sampling at a temperature, with the draw u in
 * [0, 1) from the host's generator, as dev.longbow.engine.Sampler picks (without the repetition penalty).
 */
public final class SampleKernel {
    public static final int MAX_K = 256;
    public static final ParamStruct PARAMS = ParamStruct.of("SampleParams", JAVA_LONG.withName("logits"), JAVA_LONG.withName("out"),
            JAVA_INT.withName("vocab"), JAVA_INT.withName("top_k"), JAVA_FLOAT.withName("temperature"), JAVA_FLOAT.withName("top_p"),
            JAVA_FLOAT.withName("min_p"), JAVA_FLOAT.withName("u"));

    private SampleKernel() {}

    public static void launch(CudaKernels k, long stream, long logits, long out, int vocab, int topK, float temperature,
                              float topP, float minP, float u) {
        if (topK < 1 || topK > MAX_K) throw new IllegalArgumentException("sample_top_k takes top-k 1.." + MAX_K + ", got " + topK);
        if (!(temperature > 0)) throw new IllegalArgumentException("sample_top_k needs a temperature > 0 (argmax is greedy)");
        MemorySegment p = k.params();
        p.set(JAVA_LONG, PARAMS.offset("logits"), logits);
        p.set(JAVA_LONG, PARAMS.offset("out"), out);
        p.set(JAVA_INT, PARAMS.offset("vocab"), vocab);
        p.set(JAVA_INT, PARAMS.offset("top_k"), topK);
        p.set(JAVA_FLOAT, PARAMS.offset("temperature"), temperature);
        p.set(JAVA_FLOAT, PARAMS.offset("top_p"), topP);
        p.set(JAVA_FLOAT, PARAMS.offset("min_p"), minP);
        p.set(JAVA_FLOAT, PARAMS.offset("u"), u);
        k.launch(k.sample, 1, 1, 1, 1024, stream);
    }
}
