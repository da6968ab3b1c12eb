package dev.longbow.cli;

import dev.longbow.model.RopeScaling;

import java.util.LinkedHashMap;
import java.util.Map;

/** The RoPE scaling a run used, as the JSON outputs report it: the method and the parameters that method reads. */
final class ScalingJson {
    private ScalingJson() {}

    static Map<String, Object> of(RopeScaling s) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("method", s.method().key());
        switch (s.method()) {
            case NONE -> { }
            case LINEAR, NTK -> o.put("factor", s.factor());
            case ELASTIC -> {
                o.put("gamma", s.elasticGamma());
                o.put("k", s.elasticK());
                o.put("original_ctx", s.originalContext());
            }
            default -> {
                o.put("factor", s.factor());
                o.put("original_ctx", s.originalContext());
            }
        }
        return o;
    }

    /** "none", "linear x4", "elastic g0.5 k0.7": for text output. */
    static String text(RopeScaling s) {
        return switch (s.method()) {
            case NONE -> "none";
            case ELASTIC -> "elastic (gamma " + s.elasticGamma() + ", k " + s.elasticK() + ")";
            default -> s.method().key() + " x" + s.factor();
        };
    }
}
