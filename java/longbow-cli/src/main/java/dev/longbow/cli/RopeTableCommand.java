package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.model.RopeScaling;
import dev.longbow.util.Json;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/** Prints the RoPE inverse-frequency table of a scaling method, to compare with other implementations. */
final class RopeTableCommand implements Command {
    @Override
    public String name() {
        return "rope-table";
    }

    @Override
    public String summary() {
        return "print RoPE inverse frequencies and attention factor for a scaling method";
    }

    @Override
    public String help() {
        return """
                usage: longbow rope-table --head-dim D [--base B] [--rope-scaling METHOD] [options] [--json]

                  --head-dim D                rotary dimension (even, >= 4)
                  --base B                    rope theta (default 10000)
                  --rope-scaling METHOD       none|linear|ntk|dynamic|yarn|llama3|longrope|elastic (default none)
                  --rope-factor F             scaling factor (linear, ntk, dynamic, yarn, llama3; longrope: default ctx/original)
                  --ctx N                     model context (max_position_embeddings)
                  --rope-original-ctx N       trained context (original_max_position_embeddings; default --ctx)
                  --seq-len N                 current sequence length (dynamic, longrope, elastic; default: within the trained context)
                  --rope-beta-fast X          yarn (default 32)
                  --rope-beta-slow X          yarn (default 1)
                  --rope-low-freq-factor X    llama3 (default 1)
                  --rope-high-freq-factor X   llama3 (default 4)
                  --rope-short-factor a,b,... longrope, head-dim/2 values
                  --rope-long-factor a,b,...  longrope, head-dim/2 values
                  --rope-elastic-gamma G      elastic (default 0.5)
                  --rope-elastic-k K          elastic (default 0.7)
                  --json                      print {"inv_freq": [...], "attention_factor": x} (+ "attention_temperature" for elastic)
                """;
    }

    @Override
    public Set<String> valuedOptions() {
        return Set.of("--head-dim", "--base", "--rope-scaling", "--rope-factor", "--ctx", "--rope-original-ctx", "--seq-len",
                "--rope-beta-fast", "--rope-beta-slow", "--rope-low-freq-factor", "--rope-high-freq-factor",
                "--rope-short-factor", "--rope-long-factor", "--rope-elastic-gamma", "--rope-elastic-k");
    }

    @Override
    public Set<String> flags() {
        return Set.of("--json");
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) {
        if (!a.has("--head-dim")) throw new LongbowException("rope-table: --head-dim is required");
        int headDim = a.integer("--head-dim", 0);
        float base = a.number("--base", 10000f);
        RopeScaling.Method method = method(a.str("--rope-scaling", "none"));
        int seqLen = a.integer("--seq-len", 0);
        if (seqLen < 0) throw new LongbowException("rope-table: --seq-len must not be negative, got " + seqLen);
        RopeScaling rs;
        try {
            rs = scaling(a, method);
        } catch (LongbowException e) {
            throw e.getMessage().startsWith("rope-table") ? e : new LongbowException("rope-table: " + e.getMessage());
        }
        RopeScaling.Table t;
        try {
            t = rs.table(headDim, base, seqLen);
        } catch (LongbowException e) {
            throw new LongbowException("rope-table: " + e.getMessage());
        }
        if (a.has("--json")) {
            Map<String, Object> o = new LinkedHashMap<>();
            Float[] inv = new Float[t.inverseFrequencies().length];
            for (int i = 0; i < inv.length; i++) inv[i] = t.inverseFrequencies()[i];
            o.put("inv_freq", Arrays.asList(inv));
            o.put("attention_factor", t.attentionFactor());
            if (method == RopeScaling.Method.ELASTIC) o.put("attention_temperature", t.attentionTemperature());
            out.println(Json.write(o));
        } else {
            out.printf(Locale.ROOT, "rope %s, head dim %d, base %s%s%n", method.key(), headDim, base, seqLen > 0 ? ", sequence length " + seqLen : "");
            out.println("attention_factor " + t.attentionFactor());
            if (method == RopeScaling.Method.ELASTIC) out.println("attention_temperature " + t.attentionTemperature());
            out.println("pair  inv_freq        wavelength");
            float[] inv = t.inverseFrequencies();
            for (int i = 0; i < inv.length; i++) out.printf(Locale.ROOT, "%4d  %-14s  %.6g%n", i, inv[i], 2 * Math.PI / inv[i]);
        }
        return 0;
    }

    private static RopeScaling.Method method(String name) {
        for (RopeScaling.Method m : RopeScaling.Method.values()) if (m.key().equals(name)) return m;
        throw new LongbowException("rope-table: unknown --rope-scaling '" + name + "' (one of "
                + Arrays.stream(RopeScaling.Method.values()).map(RopeScaling.Method::key).collect(Collectors.joining(", ")) + ")");
    }

    private static RopeScaling scaling(Args a, RopeScaling.Method method) {
        int ctx = a.integer("--ctx", 0);
        int trained = a.integer("--rope-original-ctx", ctx);
        return switch (method) {
            case NONE -> RopeScaling.NONE;
            case LINEAR -> RopeScaling.linear(factor(a));
            case NTK -> RopeScaling.ntk(factor(a));
            case DYNAMIC -> RopeScaling.dynamic(factor(a), trained(trained, method));
            case YARN -> RopeScaling.yarn(factor(a), trained(trained, method), a.number("--rope-beta-fast", RopeScaling.DEFAULT_BETA_FAST),
                    a.number("--rope-beta-slow", RopeScaling.DEFAULT_BETA_SLOW), true, Float.NaN, 0, 0);
            case LLAMA3 -> RopeScaling.llama3(factor(a), a.number("--rope-low-freq-factor", 1), a.number("--rope-high-freq-factor", 4),
                    trained(trained, method));
            case LONGROPE -> {
                int original = trained(trained, method);
                float f = a.has("--rope-factor") ? factor(a) : (float) Math.max(ctx, original) / original;
                yield RopeScaling.longrope(list(a, "--rope-short-factor"), list(a, "--rope-long-factor"), f, original, Float.NaN);
            }
            case ELASTIC -> RopeScaling.elastic(a.number("--rope-elastic-gamma", RopeScaling.DEFAULT_ELASTIC_GAMMA),
                    a.number("--rope-elastic-k", RopeScaling.DEFAULT_ELASTIC_K), trained(trained, method));
        };
    }

    private static float factor(Args a) {
        if (!a.has("--rope-factor")) throw new LongbowException("rope-table: this --rope-scaling needs --rope-factor");
        return a.number("--rope-factor", Float.NaN);
    }

    private static int trained(int trained, RopeScaling.Method method) {
        if (trained <= 0) throw new LongbowException("rope-table: --rope-scaling " + method.key() + " needs a positive --rope-original-ctx or --ctx");
        return trained;
    }

    private static float[] list(Args a, String option) {
        if (!a.has(option)) throw new LongbowException("rope-table: --rope-scaling longrope needs " + option);
        String[] parts = a.str(option, "").split(",");
        float[] out = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Float.parseFloat(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new LongbowException("rope-table: " + option + " expects comma-separated numbers, got '" + parts[i].strip() + "'");
            }
        }
        return out;
    }
}
