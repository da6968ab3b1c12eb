package dev.longbow.compress;

import dev.longbow.LongbowException;
import dev.longbow.util.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code longbow calibrate} decides and {@code longbow compress} carries out: per linear layer FP16 or INT8,
 * with the statistics that drove the choice (written as JSON, read back by name).
 */
public record CompressionPlan(String model, String text, long tokens, int window, double perplexity, double threshold,
                              boolean quantizeAttention, List<Layer> layers) {

    public enum Precision { FP16, INT8 }

    /**
     * One layer. {@code sensitivity}: relative perplexity change on the calibration text with this layer alone in
     * INT8 (per-output-channel symmetric). {@code hessianProxy}: trace(X^T X)/n times ||W - Q(W)||_F^2, the
     * isotropic second-order estimate of the output error; {@code diagonalProxy}: sum_ij (W - Q(W))_ij^2 E[x_j^2],
     * the same with the Hessian's diagonal, which weighs each column's error by its own input energy.
     */
    public record Layer(String name, String kind, int rows, int cols, Precision precision, String reason,
                        double perplexityInt8, double sensitivity, double quantErrorEnergy, double hessianTrace,
                        double hessianProxy, double diagonalProxy, double[] inputAbsMax, double[] inputMeanSquare) {}

    public Layer layer(String name) {
        for (Layer l : layers) if (l.name().equals(name)) return l;
        return null;
    }

    public void write(Path out) throws IOException {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("format", "longbow.compression-plan/1");
        root.put("model", model);
        root.put("calibrationText", text);
        root.put("calibrationTokens", tokens);
        root.put("window", window);
        root.put("perplexity", perplexity);
        root.put("threshold", threshold);
        root.put("quantizeAttention", quantizeAttention);
        List<Object> ls = new ArrayList<>();
        for (Layer l : layers) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", l.name());
            m.put("kind", l.kind());
            m.put("rows", l.rows());
            m.put("cols", l.cols());
            m.put("precision", l.precision().name().toLowerCase());
            m.put("reason", l.reason());
            m.put("perplexityInt8", l.perplexityInt8());
            m.put("sensitivity", l.sensitivity());
            m.put("quantErrorEnergy", l.quantErrorEnergy());
            m.put("hessianTrace", l.hessianTrace());
            m.put("hessianProxy", l.hessianProxy());
            m.put("diagonalProxy", l.diagonalProxy());
            m.put("inputAbsMax", list(l.inputAbsMax()));
            m.put("inputMeanSquare", list(l.inputMeanSquare()));
            ls.add(m);
        }
        root.put("layers", ls);
        Files.writeString(out, Json.write(root) + "\n", StandardCharsets.UTF_8);
    }

    private static List<Double> list(double[] a) {
        List<Double> l = new ArrayList<>(a.length);
        for (double v : a) l.add((double) (float) v);
        return l;
    }

    public static CompressionPlan read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new LongbowException(file + ": cannot read: " + e.getMessage());
        }
        Map<String, Object> root;
        try {
            root = Json.parseObject(text, file.toString());
        } catch (RuntimeException e) {
            throw e instanceof LongbowException ? e : new LongbowException(file + ": not a JSON plan: " + e.getMessage());
        }
        if (!(root.get("layers") instanceof List<?> items)) throw new LongbowException(file + ": plan has no 'layers' list");
        List<Layer> layers = new ArrayList<>();
        for (Object o : items) {
            if (!(o instanceof Map<?, ?> raw)) throw new LongbowException(file + ": a 'layers' entry is not an object");
            @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) raw;
            String name = Json.getString(m, "name");
            if (name == null) throw new LongbowException(file + ": a 'layers' entry has no 'name'");
            String p = Json.getString(m, "precision");
            Precision precision = p == null ? null : switch (p) {
                case "fp16" -> Precision.FP16;
                case "int8" -> Precision.INT8;
                default -> null;
            };
            if (precision == null) throw new LongbowException(file + ": layer " + name + " has precision '" + p + "' (fp16 or int8)");
            layers.add(new Layer(name, String.valueOf(m.getOrDefault("kind", "")), num(m, "rows"), num(m, "cols"), precision,
                    String.valueOf(m.getOrDefault("reason", "")), dbl(m, "perplexityInt8"), dbl(m, "sensitivity"), dbl(m, "quantErrorEnergy"),
                    dbl(m, "hessianTrace"), dbl(m, "hessianProxy"), dbl(m, "diagonalProxy"), array(m, "inputAbsMax"), array(m, "inputMeanSquare")));
        }
        Double threshold = Json.getDouble(root, "threshold"), ppl = Json.getDouble(root, "perplexity");
        Long tokens = Json.getLong(root, "calibrationTokens"), window = Json.getLong(root, "window");
        return new CompressionPlan(Json.getString(root, "model"), Json.getString(root, "calibrationText"), tokens == null ? 0 : tokens,
                window == null ? 0 : (int) (long) window, ppl == null ? Double.NaN : ppl, threshold == null ? Double.NaN : threshold,
                Boolean.TRUE.equals(root.get("quantizeAttention")), layers);
    }

    private static int num(Map<String, Object> m, String key) {
        Long v = Json.getLong(m, key);
        return v == null ? 0 : (int) (long) v;
    }

    private static double dbl(Map<String, Object> m, String key) {
        Double v = Json.getDouble(m, key);
        return v == null ? Double.NaN : v;
    }

    private static double[] array(Map<String, Object> m, String key) {
        if (!(m.get(key) instanceof List<?> l)) return null;
        double[] a = new double[l.size()];
        for (int i = 0; i < a.length; i++) a[i] = l.get(i) instanceof Number n ? n.doubleValue() : Double.NaN;
        return a;
    }
}
