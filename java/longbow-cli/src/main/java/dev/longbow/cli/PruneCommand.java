package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.compress.Pruner;
import dev.longbow.compress.Pruning;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** longbow prune: 2:4 structured sparsity for every linear layer. */
final class PruneCommand implements Command {
    @Override
    public String name() {
        return "prune";
    }

    @Override
    public String summary() {
        return "prune every linear layer to 2:4 sparsity (sparsegpt, wanda or magnitude), optionally INT8";
    }

    @Override
    public String help() {
        return """
                usage: longbow prune --model PATH --pattern 2:4 --method sparsegpt|wanda|magnitude [--calib FILE] [--int8] --out FILE.gguf

                Of every 4 weights along a row's input dimension 2 are set to zero; the rest are stored with 2-bit
                positions (docs/FORMATS.md): F16 values (about 9 bits a weight) or, with --int8, INT8 values with one
                scale per row (about 5). sparsegpt and wanda calibrate block by block on --calib, each block's inputs
                coming from the blocks before it already pruned; magnitude needs no text.

                  --pattern P     2:4 (the only pattern)
                  --method M      sparsegpt (second-order, with weight updates), wanda (|w|·||x||), magnitude (|w|)
                  --calib FILE    calibration text (sparsegpt, wanda)
                  --samples N     calibration tokens (default 4096)
                  --damp D        SparseGPT's Hessian dampening, times its mean diagonal (default 0.01)
                  --int8          store the kept values in INT8 (SparseGPT quantizes as it prunes)
                """;
    }

    @Override
    public Set<String> valuedOptions() {
        return Set.of("--model", "--calib", "--pattern", "--method", "--out", "--samples", "--damp", "--threads");
    }

    @Override
    public Set<String> flags() {
        return Set.of("--int8");
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) throws Exception {
        Path model = a.path("--model"), dst = a.path("--out");
        if (model == null || dst == null) throw new LongbowException("prune: --model and --out are required");
        String pattern = a.str("--pattern", "2:4");
        if (!pattern.equals("2:4")) throw new LongbowException("prune: pattern '" + pattern + "' is not supported (only 2:4)");
        if (!a.has("--method")) throw new LongbowException("prune: --method is required (sparsegpt, wanda, magnitude)");
        Pruning.Method method = Pruning.Method.parse(a.str("--method", ""));
        double damp = a.number("--damp", 0.01f);
        if (!(damp > 0)) throw new LongbowException("prune: --damp must be positive, got " + damp);
        Path calib = a.path("--calib");
        if (calib != null && !Files.exists(calib)) throw new LongbowException(calib + ": no such file");
        Pruner.Options o = new Pruner.Options(method, a.has("--int8"), a.integer("--samples", 4096), damp, 128, a.integer("--threads", 0));
        long start = System.nanoTime();
        Pruner.Result r = Pruner.prune(model, calib, o, dst, err::println);
        for (Map.Entry<String, Double> e : r.relativeError().entrySet()) {
            if (!e.getValue().isNaN()) err.printf(Locale.ROOT, "%-26s relative reconstruction error %.4f%n", e.getKey(), e.getValue());
        }
        err.printf("wrote %s (2:4 %s%s, %,d bytes) in %.1f s%n", dst, method.name().toLowerCase(), o.int8() ? " + INT8" : "", Files.size(dst),
                (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
