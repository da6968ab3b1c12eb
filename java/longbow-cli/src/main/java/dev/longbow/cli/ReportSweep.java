package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.backend.KvType;
import dev.longbow.engine.Passkey;
import dev.longbow.engine.Perplexity;
import dev.longbow.model.ContextOptions;
import dev.longbow.model.RopeOverride;
import dev.longbow.model.RopeScaling;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** The cells of the long-context report (model x method x context) and running them, several at once. */
final class ReportSweep {
    /**
     * One way of running a model: a RoPE method (static ones stretched by ctx / L), attention temperature, window and
     * sinks, elastic parameters, KV cache type. {@code group} says which table it belongs to.
     */
    record Method(String key, Group group, RopeScaling.Method rope, float temperature, boolean window, Float gamma, Float k, KvType kv) {
        enum Group { MAIN, ELASTIC_GRID, KV }

        static Method main(String key, RopeScaling.Method rope) {
            return new Method(key, Group.MAIN, rope, Float.NaN, false, null, null, KvType.F32);
        }

        /** Static methods stretch by ctx / L: at or below L that is the identity, the same run as none. */
        boolean runsAt(int ctx, int trained) {
            boolean isStatic = rope == RopeScaling.Method.LINEAR || rope == RopeScaling.Method.NTK || rope == RopeScaling.Method.YARN;
            return !isStatic || ctx > trained;
        }

        ContextOptions options(int trained) {
            RopeOverride r = RopeOverride.method(rope);
            if (gamma != null) r = r.withElastic(gamma, k);
            ContextOptions o = ContextOptions.DEFAULT.withRope(r).withAttentionTemperature(temperature).withKvType(kv);
            return window ? o.withWindow(trained / 2, SINKS) : o;
        }

        /** The flags of {@code longbow perplexity} / {@code passkey} that run this method. */
        String flags(int trained) {
            StringBuilder sb = new StringBuilder("--rope-scaling ").append(rope.key());
            if (gamma != null) sb.append(" --rope-elastic-gamma ").append(gamma).append(" --rope-elastic-k ").append(k);
            if (temperature == 1f) sb.append(" --attn-temperature none");
            if (window) sb.append(" --attn-window ").append(trained / 2).append(" --attn-sinks ").append(SINKS);
            if (kv != KvType.F32) sb.append(" --kv-type ").append(kv.key());
            return sb.toString();
        }
    }

    static final int SINKS = 4;

    static final List<Method> MAIN = List.of(
            Method.main("none", RopeScaling.Method.NONE),
            Method.main("linear", RopeScaling.Method.LINEAR),
            Method.main("ntk", RopeScaling.Method.NTK),
            Method.main("dynamic", RopeScaling.Method.DYNAMIC),
            Method.main("yarn", RopeScaling.Method.YARN),
            Method.main("elastic", RopeScaling.Method.ELASTIC),
            new Method("elastic, no temperature", Method.Group.MAIN, RopeScaling.Method.ELASTIC, 1f, false, null, null, KvType.F32),
            new Method("window + sinks", Method.Group.MAIN, RopeScaling.Method.NONE, Float.NaN, true, null, null, KvType.F32));

    /** Elastic's gamma x k: S = max(1, gamma (l/L)^k); the default (0.5, 0.7) keeps S = 1 until l is about 2.7 L. */
    static List<Method> elasticGrid() {
        List<Method> grid = new ArrayList<>();
        for (float gamma : new float[]{0.5f, 1f}) {
            for (float k : new float[]{0.7f, 1f}) {
                grid.add(new Method("elastic gamma " + gamma + " k " + k, Method.Group.ELASTIC_GRID, RopeScaling.Method.ELASTIC, Float.NaN, false, gamma, k, KvType.F32));
            }
        }
        return grid;
    }

    static List<Method> kvTypes() {
        List<Method> kv = new ArrayList<>();
        for (KvType t : KvType.values()) kv.add(new Method("kv " + t.key(), Method.Group.KV, RopeScaling.Method.NONE, Float.NaN, false, null, null, t));
        return kv;
    }

    /** A model to sweep: its file (the bundled sample or not), trained context, and the text's first tokens in its vocabulary. */
    record Subject(String name, Path path, boolean bundled, int trained, int[] tokens) {}

    /** What the sweep measures; context lengths as multiples of the trained context L. */
    record Plan(double[] ctxMultiples, double[] gridMultiples, double[] kvMultiples, int tokenBudget, double[] depths, int trials,
                long seed, int jobs, int threads) {
        static int ctx(double multiple, int trained) {
            return (int) Math.round(multiple * trained);
        }
    }

    record Cell(Subject subject, Method method, int ctx, boolean passkey) {
        String name() {
            return subject.name() + " " + method.key() + " ctx " + ctx;
        }

        /** Work in token-positions of attention, to start the longest cells first. */
        double cost(int budget, int passkeyTokens) {
            return (double) ctx * (budget + (passkey ? passkeyTokens : 0));
        }
    }

    /** A cell's measurements; {@code unavailable} (with both results null) when the engine does not support it yet. */
    record Outcome(Cell cell, RopeScaling scaling, Perplexity.Result perplexity, Passkey.Result passkey, String unavailable) {}

    private ReportSweep() {}

    static List<Cell> cells(List<Subject> subjects, Plan plan) {
        List<Cell> cells = new ArrayList<>();
        for (Subject s : subjects) {
            for (double m : plan.ctxMultiples()) {
                int ctx = Plan.ctx(m, s.trained());
                for (Method method : MAIN) if (method.runsAt(ctx, s.trained())) cells.add(new Cell(s, method, ctx, true));
            }
            for (double m : plan.gridMultiples()) {
                int ctx = Plan.ctx(m, s.trained());
                for (Method method : elasticGrid()) {
                    // The default parameters are the main table's elastic cell.
                    if (method.gamma() != RopeScaling.DEFAULT_ELASTIC_GAMMA || method.k() != RopeScaling.DEFAULT_ELASTIC_K) cells.add(new Cell(s, method, ctx, false));
                }
            }
            for (double m : plan.kvMultiples()) {
                int ctx = Plan.ctx(m, s.trained());
                // F32 is the main table's none cell.
                for (Method method : kvTypes()) if (method.kv() != KvType.F32) cells.add(new Cell(s, method, ctx, false));
            }
        }
        return cells;
    }

    /**
     * Runs each model briefly before anything is timed: until the JIT has compiled the kernels (a few seconds) the
     * Vector API is interpreted and orders of magnitude slower, which would skew the first cells' speeds.
     */
    static void warmUp(List<Subject> subjects, Plan plan) {
        for (Subject s : subjects) {
            try (Model model = Longbow.load(s.path(), new LoadOptions(null, plan.threads(), s.trained(), false, ContextOptions.DEFAULT))) {
                model.perplexity(java.util.Arrays.copyOf(s.tokens(), Math.min(s.tokens().length, 4 * s.trained())), s.trained());
                model.passkey(new double[]{0.5}, 1, 0);
            }
        }
    }

    /** Runs every cell, {@code plan.jobs()} at a time, each model with {@code plan.threads()} threads; in the cells' order. */
    static List<Outcome> run(List<Cell> cells, Plan plan, PrintStream progress) throws InterruptedException {
        List<Cell> order = new ArrayList<>(cells);
        int passkeyTokens = plan.depths().length * plan.trials();
        order.sort(Comparator.comparingDouble((Cell c) -> -c.cost(plan.tokenBudget(), passkeyTokens * c.ctx())));
        ExecutorService pool = Executors.newFixedThreadPool(plan.jobs(), r -> {
            Thread t = new Thread(r, "longbow-report");
            t.setDaemon(true);
            return t;
        });
        int[] done = {0};
        List<Future<Outcome>> futures = new ArrayList<>();
        try {
            for (Cell c : order) {
                futures.add(pool.submit(() -> {
                    Outcome o = measure(c, plan);
                    synchronized (done) {
                        done[0]++;
                        progress.printf(Locale.ROOT, "[%d/%d] %s: %s%n", done[0], order.size(), c.name(), summary(o));
                    }
                    return o;
                }));
            }
            List<Outcome> outcomes = new ArrayList<>();
            for (Future<Outcome> f : futures) outcomes.add(f.get());
            outcomes.sort(Comparator.comparingInt(o -> cells.indexOf(o.cell())));
            return outcomes;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    private static String summary(Outcome o) {
        if (o.unavailable() != null) return "n/a (" + o.unavailable() + ")";
        String s = String.format(Locale.ROOT, "ppl %.3f at %.0f tok/s", o.perplexity().perplexity(), o.perplexity().tokensPerSecond());
        if (o.passkey() != null) s += String.format(Locale.ROOT, ", passkey %.0f%% of keys, %.0f%% of key tokens", 100 * o.passkey().accuracy(), 100 * o.passkey().tokenAccuracy());
        return s;
    }

    static Outcome measure(Cell c, Plan plan) {
        Subject s = c.subject();
        LoadOptions load = new LoadOptions(null, plan.threads(), c.ctx(), false, c.method().options(s.trained()));
        try (Model model = Longbow.load(s.path(), load)) {
            Perplexity.Result ppl = model.perplexity(s.tokens(), c.ctx());
            Passkey.Result passkey = c.passkey() ? model.passkey(plan.depths(), plan.trials(), plan.seed()) : null;
            return new Outcome(c, model.config().ropeScaling(), ppl, passkey, null);
        } catch (LongbowException e) {
            // KV types other than F32 arrive on another branch; until then their cells are marked, not fatal.
            if (c.method().group() == Method.Group.KV && e.getMessage().contains("not supported")) return new Outcome(c, null, null, null, e.getMessage());
            throw new LongbowException(c.name() + ": " + e.getMessage());
        }
    }
}
