package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.engine.Passkey;
import dev.longbow.util.Json;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Needle-in-a-haystack passkey retrieval at relative depths of a prompt of about --ctx tokens. */
final class PasskeyCommand implements Command {
    static final String DEFAULT_DEPTHS = "0,0.25,0.5,0.75,1";

    @Override
    public String name() {
        return "passkey";
    }

    @Override
    public String summary() {
        return "passkey retrieval (needle in a haystack) at depths of a --ctx-token prompt";
    }

    @Override
    public String help() {
        return "usage: longbow passkey [--model PATH] [--ctx N] [--depths D,D,...] [--trials K] [--seed S] [options] [--json]\n\n"
                + "Filler sentences fill the context, with \"The pass key is K. Remember it. K is the pass key.\" at each\n"
                + "relative depth (0: first, 1: last) and \"What is the pass key? The pass key is\" at the end. A trial passes\n"
                + "when, given the correct prefix, every token of the 5-digit key is the model's greedy choice.\n\n" + ModelOptions.HELP + """
                  --depths D,D,...    relative needle depths in [0, 1] (default %s)
                  --trials K          random keys per depth (default 5)
                  --seed S            seed of the keys (default 1)
                  --json              print one JSON object
                """.formatted(DEFAULT_DEPTHS);
    }

    @Override
    public Set<String> valuedOptions() {
        return ContextFlags.with(Set.of("--model", "--tokenizer", "--threads", "--ctx", "--depths", "--trials", "--seed"));
    }

    @Override
    public Set<String> flags() {
        return Set.of("--json", "--reference-kernels");
    }

    static double[] depths(String command, String spec) {
        String[] parts = spec.split(",");
        double[] d = new double[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                d[i] = Double.parseDouble(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new LongbowException(command + ": --depths expects comma-separated numbers in [0, 1], got '" + parts[i].strip() + "'");
            }
            if (!(d[i] >= 0 && d[i] <= 1)) throw new LongbowException(command + ": --depths must lie in [0, 1], got " + parts[i].strip());
        }
        return d;
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) {
        double[] depths = depths(name(), a.str("--depths", DEFAULT_DEPTHS));
        int trials = a.integer("--trials", 5);
        if (trials < 1) throw new LongbowException("passkey: --trials must be >= 1, got " + trials);
        long seed = a.longValue("--seed", 1);
        var load = ModelOptions.load(a, err);
        try (Model model = Longbow.load(ModelOptions.model(a), load)) {
            Passkey.Result r = model.passkey(depths, trials, seed);
            if (a.has("--json")) {
                out.println(Json.write(json(r, model, load.context().kvType().key())));
            } else {
                out.printf(Locale.ROOT, "passkey at ctx %d (prompts of %.0f tokens), rope %s, %d trials per depth, seed %d%n",
                        r.ctx(), r.meanPromptTokens(), ScalingJson.text(model.config().ropeScaling()), r.trials(), r.seed());
                for (Passkey.Depth d : r.depths()) {
                    out.printf(Locale.ROOT, "  depth %.2f: %3.0f%% of keys, %3.0f%% of key tokens%n", d.depth(), 100 * d.accuracy(), 100 * d.tokenAccuracy());
                }
                out.printf(Locale.ROOT, "  overall:    %3.0f%% of keys, %3.0f%% of key tokens (%.1f s)%n", 100 * r.accuracy(), 100 * r.tokenAccuracy(), r.nanos() / 1e9);
            }
        }
        return 0;
    }

    static Map<String, Object> json(Passkey.Result r, Model model, String kvType) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("ctx", r.ctx());
        o.put("trials", r.trials());
        o.put("seed", r.seed());
        o.put("rope_scaling", ScalingJson.of(model.config().ropeScaling()));
        o.put("kv_type", kvType);
        o.put("accuracy", r.accuracy());
        o.put("token_accuracy", r.tokenAccuracy());
        o.put("prompt_tokens", r.meanPromptTokens());
        List<Object> depths = new ArrayList<>();
        for (Passkey.Depth d : r.depths()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("depth", d.depth());
            m.put("accuracy", d.accuracy());
            m.put("token_accuracy", d.tokenAccuracy());
            m.put("prompt_tokens", d.meanPromptTokens());
            depths.add(m);
        }
        o.put("depths", depths);
        List<Object> runs = new ArrayList<>();
        for (Passkey.Trial t : r.runs()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("depth", t.depth());
            m.put("key", t.key());
            m.put("prompt_tokens", t.promptTokens());
            m.put("key_tokens", t.keyTokens());
            m.put("correct_tokens", t.correctTokens());
            runs.add(m);
        }
        o.put("runs", runs);
        o.put("seconds", r.nanos() / 1e9);
        o.put("tok_s", r.tokensPerSecond());
        o.put("kv_bytes", r.kvBytes());
        return o;
    }
}
