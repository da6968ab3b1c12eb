package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.backend.KvType;
import dev.longbow.backend.SparseAttention;
import dev.longbow.backend.SparsePattern;
import dev.longbow.model.ContextOptions;
import dev.longbow.model.RopeOverride;
import dev.longbow.model.RopeScaling;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Collectors;

/** The long-context options every model-running command shares: RoPE scaling overrides and attention settings. */
final class ContextFlags {
    /** The per-method parameters, shared with rope-table (which words the three above for a run without a model). */
    static final String ROPE_PARAMETER_HELP = """
              --rope-beta-fast X          yarn (default 32)
              --rope-beta-slow X          yarn (default 1)
              --rope-low-freq-factor X    llama3 (default 1)
              --rope-high-freq-factor X   llama3 (default 4)
              --rope-short-factor a,b,... longrope, head-dim/2 values
              --rope-long-factor a,b,...  longrope, head-dim/2 values
              --rope-elastic-gamma G      elastic (default 0.5)
              --rope-elastic-k K          elastic (default 0.7)
            """;

    static final String ROPE_HELP = """
              --rope-scaling METHOD       none|linear|ntk|dynamic|yarn|llama3|longrope|elastic (default: the model's)
              --rope-factor F             scaling factor (default: --ctx over the trained context; dynamic: 1)
              --rope-original-ctx N       trained context (default: the model's)
            """ + ROPE_PARAMETER_HELP;

    static final String HELP = ROPE_HELP + """
              --attn-temperature T        auto (the method's own) | none | a value: softmax(QK^T / (sqrt(d) T))
              --attn-window W             each token attends to the last W positions (default: the model's, else all)
              --attn-sinks N              ... and to the first N (StreamingLLM); with --attn-window, runs past --ctx
              --attn-sparse P             none|local-global|lsh block-sparse attention (default none)
              --attn-sparse-block B       positions per block (default 64)
              --attn-sparse-local N       local-global: blocks before a query's own that it sees (default 4)
              --attn-sparse-global N      local-global: first blocks every query sees (default 1)
              --attn-sparse-buckets N     lsh: hash buckets, 1 or even (default 16)
              --attn-sparse-rounds N      lsh: hash rounds; a query sees keys sharing a bucket in any (default 2)
              --kv-type T                 f32|f16|q8 KV cache (default f32)
              --prefill-chunk N           prompt tokens per forward pass (default 64)
            """;

    static final Set<String> ROPE_OPTIONS = Set.of("--rope-scaling", "--rope-factor", "--rope-original-ctx", "--rope-beta-fast",
            "--rope-beta-slow", "--rope-low-freq-factor", "--rope-high-freq-factor", "--rope-short-factor", "--rope-long-factor",
            "--rope-elastic-gamma", "--rope-elastic-k");

    private static final Set<String> SPARSE_OPTIONS = Set.of("--attn-sparse-block", "--attn-sparse-local", "--attn-sparse-global",
            "--attn-sparse-buckets", "--attn-sparse-rounds");

    static final Set<String> OPTIONS;

    static {
        Set<String> all = new HashSet<>(ROPE_OPTIONS);
        all.addAll(Set.of("--attn-temperature", "--attn-window", "--attn-sinks", "--attn-sparse", "--kv-type", "--prefill-chunk"));
        all.addAll(SPARSE_OPTIONS);
        OPTIONS = Set.copyOf(all);
    }

    private ContextFlags() {}

    /** The options a model-running command accepts: {@code own} plus the model and long-context ones. */
    static Set<String> with(Set<String> own) {
        Set<String> all = new HashSet<>(own);
        all.addAll(OPTIONS);
        // Not context settings, but every command that takes these runs a model, so it takes the backend choice too.
        all.addAll(ModelOptions.BACKEND_OPTIONS);
        return Set.copyOf(all);
    }

    static ContextOptions parse(Args a) {
        String t = a.str("--attn-temperature", "auto");
        float temperature = switch (t) {
            case "auto" -> Float.NaN;
            case "none" -> 1f;
            default -> {
                float v = a.number("--attn-temperature", Float.NaN);
                if (!(v > 0) || Float.isInfinite(v)) throw new LongbowException("--attn-temperature must be auto, none or a positive number, got '" + t + "'");
                yield v;
            }
        };
        int window = nonNegative(a, "--attn-window");
        int sinks = nonNegative(a, "--attn-sinks");
        int chunk = a.integer("--prefill-chunk", ContextOptions.DEFAULT_PREFILL_CHUNK);
        if (chunk < 1) throw new LongbowException("--prefill-chunk must be >= 1, got " + chunk);
        return new ContextOptions(rope(a), temperature, window, sinks, KvType.parse(a.str("--kv-type", "f32")), chunk, sparse(a));
    }

    static SparseAttention sparse(Args a) {
        SparsePattern pattern = SparsePattern.parse(a.str("--attn-sparse", "none"));
        // A block or hashing option without the pattern it shapes is a mistake worth naming, not a silent no-op.
        for (String option : SPARSE_OPTIONS) {
            boolean applies = switch (option) {
                case "--attn-sparse-block" -> pattern != SparsePattern.NONE;
                case "--attn-sparse-local", "--attn-sparse-global" -> pattern == SparsePattern.LOCAL_GLOBAL;
                default -> pattern == SparsePattern.LSH;
            };
            if (a.has(option) && !applies) {
                throw new LongbowException(option + " does not apply to --attn-sparse " + pattern.key());
            }
        }
        SparseAttention d = SparseAttention.of(pattern);
        int block = a.has("--attn-sparse-block") ? positive(a, "--attn-sparse-block") : d.block();
        int local = a.has("--attn-sparse-local") ? nonNegative(a, "--attn-sparse-local") : d.localBlocks();
        int global = a.has("--attn-sparse-global") ? nonNegative(a, "--attn-sparse-global") : d.globalBlocks();
        int buckets = a.has("--attn-sparse-buckets") ? positive(a, "--attn-sparse-buckets") : d.lshBuckets();
        int rounds = a.has("--attn-sparse-rounds") ? positive(a, "--attn-sparse-rounds") : d.lshRounds();
        return new SparseAttention(pattern, block, local, global, buckets, rounds);
    }

    static RopeOverride rope(Args a) {
        RopeScaling.Method method = a.has("--rope-scaling") ? method(a.str("--rope-scaling", "none")) : null;
        Integer original = a.has("--rope-original-ctx") ? positive(a, "--rope-original-ctx") : null;
        return new RopeOverride(method, number(a, "--rope-factor"), original, number(a, "--rope-beta-fast"), number(a, "--rope-beta-slow"),
                number(a, "--rope-low-freq-factor"), number(a, "--rope-high-freq-factor"), list(a, "--rope-short-factor"),
                list(a, "--rope-long-factor"), number(a, "--rope-elastic-gamma"), number(a, "--rope-elastic-k"));
    }

    private static RopeScaling.Method method(String name) {
        for (RopeScaling.Method m : RopeScaling.Method.values()) if (m.key().equals(name)) return m;
        throw new LongbowException("unknown --rope-scaling '" + name + "' (one of "
                + Arrays.stream(RopeScaling.Method.values()).map(RopeScaling.Method::key).collect(Collectors.joining(", ")) + ")");
    }

    private static Float number(Args a, String option) {
        return a.has(option) ? a.number(option, Float.NaN) : null;
    }

    private static int nonNegative(Args a, String option) {
        int v = a.integer(option, 0);
        if (v < 0) throw new LongbowException(option + " must be >= 0, got " + v);
        return v;
    }

    private static int positive(Args a, String option) {
        int v = a.integer(option, 0);
        if (v < 1) throw new LongbowException(option + " must be >= 1, got " + v);
        return v;
    }

    private static float[] list(Args a, String option) {
        if (!a.has(option)) return null;
        String[] parts = a.str(option, "").split(",");
        float[] out = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Float.parseFloat(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new LongbowException(option + " expects comma-separated numbers, got '" + parts[i].strip() + "'");
            }
        }
        return out;
    }
}
