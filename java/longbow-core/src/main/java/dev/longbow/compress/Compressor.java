package dev.longbow.compress;

import dev.longbow.LongbowException;
import dev.longbow.convert.GgufConverter;
import dev.longbow.format.GgufValue;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;
import dev.longbow.tokenizer.Tokenizers;
import dev.longbow.util.Json;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code longbow compress}: writes a model as GGUF with each linear layer in the precision its plan gives: FP16
 * layers as F16, INT8 layers as {@link WeightType#I8_ROW} (W8A16) or {@link WeightType#I8_ROW_A8} (W8A8, with
 * {@link Smoothing} folded into the RMSNorm before q/k/v and before gate/up). Embeddings go to F16, norms stay F32.
 * Without a plan every linear layer goes to INT8 (the all-INT8 baseline).
 */
public final class Compressor {
    private Compressor() {}

    public enum Mode {
        W8A16(WeightType.I8_ROW), W8A8(WeightType.I8_ROW_A8);

        final WeightType type;

        Mode(WeightType type) {
            this.type = type;
        }

        public static Mode parse(String s) {
            for (Mode m : values()) if (m.name().equalsIgnoreCase(s)) return m;
            throw new LongbowException("unknown compression mode '" + s + "' (w8a16, w8a8)");
        }
    }

    /** Summary of what was written. */
    public record Result(int int8Layers, int fp16Layers, int smoothedNorms) {}

    public static Result compress(Path model, CompressionPlan plan, String planName, Mode mode, double alpha, Path out) throws IOException {
        try (ModelFile f = ModelLoader.open(model)) {
            List<String> names = LinearLayers.names(f);
            Map<String, WeightType> types = new HashMap<>();
            int int8 = 0;
            for (String n : names) {
                CompressionPlan.Precision p = CompressionPlan.Precision.INT8;
                if (plan != null) {
                    CompressionPlan.Layer l = plan.layer(n);
                    if (l == null) throw new LongbowException(planName + ": the plan has no entry for layer " + n + " of " + model);
                    Tensor t = f.tensor(n);
                    if (l.rows() != 0 && (l.rows() != t.rows() || l.cols() != t.cols())) {
                        throw new LongbowException(planName + ": layer " + n + " is " + l.rows() + "x" + l.cols() + " in the plan but "
                                + t.rows() + "x" + t.cols() + " in " + model);
                    }
                    p = l.precision();
                }
                types.put(n, p == CompressionPlan.Precision.INT8 ? mode.type : WeightType.F16);
                if (p == CompressionPlan.Precision.INT8) int8++;
            }
            Map<String, float[]> replaced = new HashMap<>();
            int smoothed = 0;
            if (mode == Mode.W8A8) {
                for (int b = 0; b < f.config().layers(); b++) {
                    smoothed += smooth(f, plan, planName, types, replaced, "blk." + b + ".attn_norm.weight",
                            List.of(LinearLayers.name(b, "attn_q"), LinearLayers.name(b, "attn_k"), LinearLayers.name(b, "attn_v")), alpha);
                    smoothed += smooth(f, plan, planName, types, replaced, "blk." + b + ".ffn_norm.weight",
                            List.of(LinearLayers.name(b, "ffn_gate"), LinearLayers.name(b, "ffn_up")), alpha);
                }
            }
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("version", 1);
            info.put("mode", mode.name().toLowerCase());
            info.put("plan", planName == null ? "all-int8" : planName);
            info.put("int8Layers", int8);
            info.put("fp16Layers", names.size() - int8);
            if (mode == Mode.W8A8) info.put("smoothingAlpha", alpha);
            Map<String, GgufValue> md = Map.of("longbow.compression", GgufValue.string(Json.write(info)));
            GgufConverter.convert(f, Tokenizers.forModel(f, null), WeightType.F16, out,
                    new GgufConverter.Overrides(types, t -> replaced.get(t.name()), Map.of(), md));
            return new Result(int8, names.size() - int8, smoothed);
        }
    }

    /** Folds smoothing for one norm when any of its consumers is W8A8; returns 1 if it did. */
    private static int smooth(ModelFile f, CompressionPlan plan, String planName, Map<String, WeightType> types,
                              Map<String, float[]> replaced, String norm, List<String> consumers, double alpha) {
        if (consumers.stream().noneMatch(c -> types.get(c) == WeightType.I8_ROW_A8)) return 0;
        CompressionPlan.Layer stats = plan == null ? null : plan.layer(consumers.get(0));
        if (stats == null || stats.inputAbsMax() == null) {
            throw new LongbowException((planName == null ? "w8a8" : planName) + ": w8a8 smoothing needs the calibration statistics (inputAbsMax) of "
                    + consumers.get(0) + "; run longbow calibrate and pass its plan");
        }
        Tensor n = f.tensor(norm);
        int cols = (int) n.elementCount();
        float[][] ws = new float[consumers.size()][];
        for (int i = 0; i < ws.length; i++) ws[i] = f.tensor(consumers.get(i)).toFloatArray();
        float[] s = Smoothing.factors(stats.inputAbsMax(), ws, cols, alpha);
        replaced.put(norm, Smoothing.foldIntoNorm(n.toFloatArray(), s));
        for (int i = 0; i < ws.length; i++) replaced.put(consumers.get(i), Smoothing.scaleColumns(ws[i], s));
        return 1;
    }
}
