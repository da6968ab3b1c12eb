package dev.longbow.compress;

import dev.longbow.LongbowException;
import dev.longbow.convert.GgufConverter;
import dev.longbow.format.GgufValue;
import dev.longbow.model.Transformer;
import dev.longbow.tensor.CompressedLayout;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;
import dev.longbow.util.Json;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code longbow prune}: every linear layer to 2:4, written as {@link WeightType#S24_F16} (or {@link WeightType#S24_I8}
 * with {@code int8}). Calibration is sequential, block by block, as in SparseGPT: the inputs of block b's layers are
 * recorded from a model whose blocks before b are already pruned, so each block compensates for the error of those
 * before it. Within a block, every layer sees the inputs the block had before its own pruning (as the reference code
 * does). Magnitude pruning needs no calibration text.
 */
public final class Pruner {
    private Pruner() {}

    public record Options(Pruning.Method method, boolean int8, int samples, double damp, int blockSize, int threads) {
        public static Options of(Pruning.Method method, boolean int8) {
            return new Options(method, int8, 4096, 0.01, 128, 0);
        }
    }

    /** Per layer: ||WX - W'X||^2 / ||WX||^2 on the calibration inputs the layer saw (NaN for magnitude, which records none). */
    public record Result(Map<String, Double> relativeError) {}

    public static Result prune(Path model, Path calibration, Options o, Path out, Consumer<String> progress) throws IOException {
        if (o.method() != Pruning.Method.MAGNITUDE && calibration == null) {
            throw new LongbowException("prune: --method " + o.method().name().toLowerCase() + " needs calibration text (--calib FILE)");
        }
        try (Workbench wb = new Workbench(model, o.threads())) {
            List<String> names = LinearLayers.names(wb.file);
            for (String n : names) Pruning.checkShape(n, wb.file.tensor(n).cols());
            Map<String, float[]> pruned = new HashMap<>();
            Map<String, float[]> scales = new HashMap<>();
            Map<String, Double> relError = new LinkedHashMap<>();
            if (o.method() != Pruning.Method.MAGNITUDE) {
                int[] tokens = wb.tokens(calibration, o.samples());
                int layers = wb.file.config().layers();
                for (int b = 0; b <= layers; b++) {
                    List<String> block = new ArrayList<>();
                    for (String n : names) if (LinearLayers.block(n, layers) == b) block.add(n);
                    if (block.isEmpty()) continue;
                    Transformer t = wb.transformer(pruned);
                    RecordingOps recording = new RecordingOps(wb.ops);
                    Map<String, ActivationStats> stats = new LinkedHashMap<>();
                    for (String n : block) stats.put(n, recording.watch(wb.file.tensor(n), o.method() == Pruning.Method.SPARSEGPT));
                    double ppl = wb.perplexity(t, recording, tokens);
                    progress.accept(String.format(java.util.Locale.ROOT, "block %d: inputs from the model pruned so far (perplexity %.4f)", b, ppl));
                    for (String n : block) {
                        Tensor tensor = wb.file.tensor(n);
                        float[] w = tensor.toFloatArray();
                        ActivationStats s = stats.get(n);
                        float[] p;
                        if (o.method() == Pruning.Method.SPARSEGPT) {
                            float[] rowScales = o.int8() ? CompressedLayout.rowScales(w, tensor.rows(), tensor.cols()) : null;
                            p = Pruning.sparseGpt(w, tensor.rows(), tensor.cols(), s.symmetricGram(), o.damp(), o.blockSize(), rowScales);
                            if (rowScales != null) scales.put(n, rowScales);
                            double[] h = s.symmetricGram();
                            double e = Pruning.reconstructionError(w, p, tensor.rows(), tensor.cols(), h);
                            relError.put(n, e / outputEnergy(w, tensor.rows(), tensor.cols(), h));
                        } else {
                            p = Pruning.wanda(w, tensor.rows(), tensor.cols(), s.sumSquares);
                            relError.put(n, Double.NaN);
                        }
                        pruned.put(n, p);
                    }
                }
            }
            Map<String, WeightType> types = new HashMap<>();
            for (String n : names) types.put(n, o.int8() ? WeightType.S24_I8 : WeightType.S24_F16);
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("version", 1);
            info.put("mode", "2:4");
            info.put("method", o.method().name().toLowerCase());
            info.put("int8", o.int8());
            Map<String, GgufValue> md = Map.of("longbow.compression", GgufValue.string(Json.write(info)));
            GgufConverter.convert(wb.file, wb.tokenizer, WeightType.F16, out, new GgufConverter.Overrides(types, t -> {
                if (!types.containsKey(t.name())) return null;
                float[] p = pruned.get(t.name());
                return p != null ? p : Pruning.magnitude(t.toFloatArray(), t.rows(), t.cols());
            }, scales, md));
            return new Result(relError);
        }
    }

    /** ||WX^T||_F^2 = sum over rows of w^T H w. */
    static double outputEnergy(float[] w, int rows, int cols, double[] h) {
        return Pruning.reconstructionError(w, new float[w.length], rows, cols, h);
    }
}
