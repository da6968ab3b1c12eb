package dev.longbow.compress;

import dev.longbow.model.Transformer;
import dev.longbow.tensor.CompressedLayout;
import dev.longbow.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code longbow calibrate}: runs calibration text through the model once, recording every linear layer's input
 * statistics, then measures each layer's sensitivity by quantizing it alone to INT8 and running the text again.
 * Layers stay FP16 when they are attention projections (unless asked to quantize those too) or when their
 * perplexity change exceeds the threshold; the rest go to INT8.
 */
public final class Calibrator {
    private Calibrator() {}

    public record Options(int samples, double threshold, boolean quantizeAttention, int threads) {
        public static final Options DEFAULT = new Options(4096, 0.001, false, 0);
    }

    public static CompressionPlan calibrate(Path model, Path text, Options o, Consumer<String> progress) {
        try (Workbench wb = new Workbench(model, o.threads())) {
            int[] tokens = wb.tokens(text, o.samples());
            List<String> names = LinearLayers.names(wb.file);
            RecordingOps recording = new RecordingOps(wb.ops);
            Map<String, ActivationStats> stats = new LinkedHashMap<>();
            for (String n : names) stats.put(n, recording.watch(wb.file.tensor(n), false));
            double base = wb.perplexity(wb.transformer(Map.of()), recording, tokens);
            progress.accept(String.format(java.util.Locale.ROOT, "calibration perplexity %.4f over %d tokens", base, tokens.length));
            List<CompressionPlan.Layer> layers = new ArrayList<>();
            for (String n : names) {
                Tensor t = wb.file.tensor(n);
                float[] w = t.toFloatArray();
                float[] q = int8RoundTrip(w, t.rows(), t.cols());
                ActivationStats s = stats.get(n);
                double[] meanSq = s.meanSquares();
                double err = 0, diagonal = 0;
                for (int r = 0; r < t.rows(); r++) {
                    for (int j = 0; j < t.cols(); j++) {
                        double d = w[r * t.cols() + j] - q[r * t.cols() + j];
                        err += d * d;
                        diagonal += d * d * meanSq[j];
                    }
                }
                Transformer quantized = wb.transformer(Map.of(n, q));
                double ppl = wb.perplexity(quantized, wb.ops, tokens);
                double sensitivity = ppl / base - 1;
                boolean attention = LinearLayers.attention(n);
                CompressionPlan.Precision p;
                String reason;
                if (attention && !o.quantizeAttention()) {
                    p = CompressionPlan.Precision.FP16;
                    reason = "attention projection";
                } else if (sensitivity > o.threshold()) {
                    p = CompressionPlan.Precision.FP16;
                    reason = "sensitivity above threshold";
                } else {
                    p = CompressionPlan.Precision.INT8;
                    reason = "sensitivity within threshold";
                }
                progress.accept(String.format(java.util.Locale.ROOT, "%-26s %s  ppl %.4f (%+.4f%%)  proxy %.4g", n, p, ppl, 100 * sensitivity,
                        s.traceOverTokens() * err));
                layers.add(new CompressionPlan.Layer(n, LinearLayers.kind(n), t.rows(), t.cols(), p, reason, ppl, sensitivity, err,
                        s.traceOverTokens(), s.traceOverTokens() * err, diagonal, s.absMax(), meanSq));
            }
            return new CompressionPlan(model.toString(), text.toString(), tokens.length, wb.window, base, o.threshold(), o.quantizeAttention(), layers);
        }
    }

    /** The values INT8 with symmetric per-output-channel scales stands for: what an I8_ROW tensor computes with. */
    public static float[] int8RoundTrip(float[] w, int rows, int cols) {
        float[] scales = CompressedLayout.rowScales(w, rows, cols);
        float[] q = new float[w.length];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) q[r * cols + j] = scales[r] * CompressedLayout.quantize(w[r * cols + j], scales[r]);
        }
        return q;
    }
}
