package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.model.RopeOverride;
import dev.longbow.model.RopeScaling;
import dev.longbow.util.Json;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

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
                  --rope-factor F             scaling factor (default --ctx / --rope-original-ctx; dynamic, elastic: 1)
                  --ctx N                     model context (max_position_embeddings)
                  --rope-original-ctx N       trained context (original_max_position_embeddings; default --ctx)
                  --seq-len N                 current sequence length (dynamic, longrope, elastic; default: within the trained context)
                  --json                      print {"inv_freq": [...], "attention_factor": x} (+ "attention_temperature" for elastic)
                """ + ContextFlags.ROPE_PARAMETER_HELP;
    }

    @Override
    public Set<String> valuedOptions() {
        java.util.Set<String> all = new java.util.HashSet<>(ContextFlags.ROPE_OPTIONS);
        all.addAll(Set.of("--head-dim", "--base", "--ctx", "--seq-len"));
        return all;
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
        int seqLen = a.integer("--seq-len", 0);
        if (seqLen < 0) throw new LongbowException("rope-table: --seq-len must not be negative, got " + seqLen);
        int ctx = a.integer("--ctx", 0);
        RopeScaling rs;
        try {
            RopeOverride override = ContextFlags.rope(a);
            rs = override.method() == null ? RopeScaling.NONE
                    : override.resolve(RopeScaling.NONE, override.originalContext() != null ? override.originalContext() : ctx, ctx);
        } catch (LongbowException e) {
            throw e.getMessage().startsWith("rope-table") ? e : new LongbowException("rope-table: " + e.getMessage());
        }
        RopeScaling.Method method = rs.method();
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
}
