package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.compress.CompressionPlan;
import dev.longbow.compress.Compressor;
import dev.longbow.compress.Smoothing;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/** longbow compress: a model written with each linear layer in its plan's precision. */
final class CompressCommand implements Command {
    @Override
    public String name() {
        return "compress";
    }

    @Override
    public String summary() {
        return "write a model with INT8 (W8A16 or W8A8) and FP16 layers as a calibration plan says";
    }

    @Override
    public String help() {
        return """
                usage: longbow compress --model PATH [--plan plan.json] [--mode w8a16|w8a8] [--alpha A] --out FILE.gguf

                Writes GGUF with Longbow's compression extension (docs/FORMATS.md): INT8 layers with one scale per output
                channel, FP16 layers in F16, embeddings F16, norms F32. w8a16 keeps activations in float; w8a8 quantizes
                them per token and folds SmoothQuant smoothing into the RMSNorm before q/k/v and before gate/up.
                Without --plan every linear layer goes to INT8.

                  --plan FILE     from longbow calibrate (needed for w8a8's smoothing statistics)
                  --mode M        w8a16 (default) or w8a8
                  --alpha A       smoothing strength for w8a8 (default 0.5)
                """;
    }

    @Override
    public Set<String> valuedOptions() {
        return Set.of("--model", "--plan", "--mode", "--alpha", "--out");
    }

    @Override
    public Set<String> flags() {
        return Set.of();
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) throws Exception {
        Path model = a.path("--model"), dst = a.path("--out"), planFile = a.path("--plan");
        if (model == null || dst == null) throw new LongbowException("compress: --model and --out are required");
        Compressor.Mode mode = Compressor.Mode.parse(a.str("--mode", "w8a16"));
        double alpha = a.number("--alpha", (float) Smoothing.DEFAULT_ALPHA);
        if (!(alpha >= 0 && alpha <= 1)) throw new LongbowException("compress: --alpha must be between 0 and 1, got " + alpha);
        if (planFile != null && !Files.exists(planFile)) throw new LongbowException(planFile + ": no such plan file");
        CompressionPlan plan = planFile == null ? null : CompressionPlan.read(planFile);
        long start = System.nanoTime();
        Compressor.Result r = Compressor.compress(model, plan, planFile == null ? null : planFile.toString(), mode, alpha, dst);
        err.printf("wrote %s (%s: %d layers INT8, %d FP16%s, %,d bytes) in %.1f s%n", dst, mode.name().toLowerCase(), r.int8Layers(), r.fp16Layers(),
                mode == Compressor.Mode.W8A8 ? ", " + r.smoothedNorms() + " norms smoothed" : "", Files.size(dst), (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
