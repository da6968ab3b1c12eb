package dev.longbow.cuda.gpu;

import dev.longbow.model.RopeScaling;

import java.util.LinkedHashMap;
import java.util.Map;

/** One RopeScaling of each method, with non-trivial parameters, for the RoPE tests. */
public final class RopeMethods {
    private RopeMethods() {}

    public static Map<String, RopeScaling> all(int headDim) {
        Map<String, RopeScaling> m = new LinkedHashMap<>();
        m.put("none", RopeScaling.NONE);
        m.put("linear", RopeScaling.linear(4));
        m.put("ntk", RopeScaling.ntk(4));
        m.put("dynamic", RopeScaling.dynamic(2, 4096));
        m.put("yarn", RopeScaling.yarn(8, 4096, RopeScaling.DEFAULT_BETA_FAST, RopeScaling.DEFAULT_BETA_SLOW, true, Float.NaN, 0, 0));
        m.put("llama3", RopeScaling.llama3(8, 1, 4, 8192));
        float[] shortF = new float[headDim / 2], longF = new float[headDim / 2];
        for (int i = 0; i < shortF.length; i++) {
            shortF[i] = 1 + i * 0.01f;
            longF[i] = 1 + i * 0.5f;
        }
        m.put("longrope", RopeScaling.longrope(shortF, longF, 32, 4096, Float.NaN));
        m.put("elastic", RopeScaling.elastic(RopeScaling.DEFAULT_ELASTIC_GAMMA, RopeScaling.DEFAULT_ELASTIC_K, 4096));
        return m;
    }
}
