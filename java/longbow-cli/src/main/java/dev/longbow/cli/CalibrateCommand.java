package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.compress.Calibrator;
import dev.longbow.compress.CompressionPlan;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Set;

/** longbow calibrate: per-layer sensitivity to INT8 and the FP16/INT8 plan it implies. */
final class CalibrateCommand implements Command {
    @Override
    public String name() {
        return "calibrate";
    }

    @Override
    public String summary() {
        return "measure each linear layer's sensitivity to INT8 and write a mixed-precision plan";
    }

    @Override
    public String help() {
        return """
                usage: longbow calibrate --model PATH --text-file FILE [--samples N] [--threshold T] [--quantize-attention] [--out plan.json]

                Runs the calibration text through the model, recording each linear layer's input statistics (per input
                channel absmax and mean square), then quantizes each layer alone to INT8 (symmetric, per output channel)
                and measures the perplexity change. Layers stay FP16 when they are attention projections (unless
                --quantize-attention) or when their relative perplexity change exceeds T; the rest go to INT8.

                  --text-file FILE      calibration text (at least 256 tokens)
                  --samples N           tokens of it to use (default 4096)
                  --threshold T         relative perplexity change that keeps a layer FP16 (default 0.001 = 0.1%)
                  --quantize-attention  let attention projections go to INT8 too
                  --out FILE            plan to write (default plan.json)
                  --threads N           CPU threads
                  --plot FILE.png       also draw the per-layer sensitivity (FILE.png) and the Hessian proxy (FILE-proxy.png)
                """;
    }

    @Override
    public Set<String> valuedOptions() {
        return Set.of("--model", "--text-file", "--samples", "--threshold", "--out", "--threads", "--plot");
    }

    @Override
    public Set<String> flags() {
        return Set.of("--quantize-attention");
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) throws Exception {
        Path model = a.path("--model"), text = a.path("--text-file");
        if (model == null || text == null) throw new LongbowException("calibrate: --model and --text-file are required");
        double threshold = a.number("--threshold", 0.001f);
        if (!(threshold >= 0)) throw new LongbowException("calibrate: --threshold must be >= 0, got " + threshold);
        int samples = a.integer("--samples", 4096);
        if (samples < 1) throw new LongbowException("calibrate: --samples must be positive, got " + samples);
        Path dst = a.path("--out") != null ? a.path("--out") : Path.of("plan.json");
        CompressionPlan plan = Calibrator.calibrate(model, text,
                new Calibrator.Options(samples, threshold, a.has("--quantize-attention"), a.integer("--threads", 0)), err::println);
        plan.write(dst);
        long int8 = plan.layers().stream().filter(l -> l.precision() == CompressionPlan.Precision.INT8).count();
        err.printf("wrote %s: %d layers INT8, %d FP16%n", dst, int8, plan.layers().size() - int8);
        if (a.path("--plot") != null) {
            for (Path p : SensitivityChart.write(plan, model.getFileName().toString(), a.path("--plot"))) err.println("wrote " + p);
        }
        return 0;
    }
}
