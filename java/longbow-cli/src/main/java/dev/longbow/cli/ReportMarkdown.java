package dev.longbow.cli;

import dev.longbow.engine.Passkey;
import dev.longbow.model.RopeScaling;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The report's tables for one model, in Markdown; every figure is one of the run's measurements. */
final class ReportMarkdown {
    private final ReportSweep.Subject subject;
    private final ReportSweep.Plan plan;
    private final Map<String, ReportSweep.Outcome> byCell = new LinkedHashMap<>();
    private final List<Integer> contexts = new ArrayList<>();
    private final StringBuilder md = new StringBuilder();

    ReportMarkdown(ReportSweep.Subject subject, ReportSweep.Plan plan, List<ReportSweep.Outcome> outcomes) {
        this.subject = subject;
        this.plan = plan;
        for (ReportSweep.Outcome o : outcomes) byCell.put(key(o.cell().method().key(), o.cell().ctx()), o);
        for (double m : plan.ctxMultiples()) contexts.add(ReportSweep.Plan.ctx(m, subject.trained()));
    }

    private static String key(String method, int ctx) {
        return method + "@" + ctx;
    }

    ReportSweep.Outcome outcome(String method, int ctx) {
        return byCell.get(key(method, ctx));
    }

    /**
     * @param command  the command line that made the report
     * @param textFile the evaluation text
     * @param machine  cores, threads and JVM, as measured
     * @param seconds  the whole run's wall time
     */
    String render(String command, String textFile, String machine, double seconds, String pplImage, String passkeyImage) {
        int trained = subject.trained();
        line("# Long context: %s", subject.name());
        line("");
        line("Trained context L = %d. Perplexity over the first %,d tokens of `%s` in disjoint windows of the context length "
                + "(BOS first, every text token scored once); passkey retrieval with %d trial(s) per depth at depths %s (seed %d), "
                + "scored by teacher forcing (a key passes when each of its tokens is the greedy choice).",
                trained, subject.tokens().length, textFile, plan.trials(), depthList(), plan.seed());
        line("");
        line("Made by `%s` in %.0f s on %s.", command, seconds, machine);
        line("");
        line("![perplexity against context](%s)", pplImage);
        line("");
        perplexityTable();
        elasticGrid();
        line("![passkey key-token accuracy](%s)", passkeyImage);
        line("");
        passkeyTables();
        speedTable();
        kvTable();
        reproduce(textFile);
        return md.toString();
    }

    private void perplexityTable() {
        int trained = subject.trained();
        line("## Perplexity");
        line("");
        line("Lower is better; bold is the lowest at each context. Static methods (linear, ntk, yarn) stretch by ctx / L and are "
                + "the identity at or below L: there they are the none run. Dynamic runs with factor 1, the CLI's default (it follows the length by itself). "
                + "Each window is scored from its first token, so at context N a token has N/2 tokens before it on average: a longer "
                + "window can score lower even when the model uses no more context than it was trained on.");
        line("");
        header("method", contexts);
        Map<Integer, Double> best = new LinkedHashMap<>();
        for (int ctx : contexts) {
            for (ReportSweep.Method m : ReportSweep.MAIN) {
                ReportSweep.Outcome o = outcome(m.key(), ctx);
                if (o != null && o.perplexity() != null) best.merge(ctx, o.perplexity().perplexity(), Math::min);
            }
        }
        for (ReportSweep.Method m : ReportSweep.MAIN) {
            List<String> row = new ArrayList<>(List.of(m.key()));
            for (int ctx : contexts) {
                ReportSweep.Outcome o = outcome(m.key(), ctx);
                if (o == null) row.add(m.runsAt(ctx, trained) ? "—" : "= none");
                else if (o.perplexity() == null) row.add("n/a");
                else {
                    double p = o.perplexity().perplexity();
                    row.add(p == best.get(ctx) ? "**" + ppl(p) + "**" : ppl(p));
                }
            }
            row(row);
        }
        line("");
    }

    private void elasticGrid() {
        if (plan.gridMultiples().length == 0) return;
        int trained = subject.trained();
        List<Integer> at = new ArrayList<>();
        for (double m : plan.gridMultiples()) at.add(ReportSweep.Plan.ctx(m, trained));
        line("## Elastic: gamma and k");
        line("");
        line("S = max(1, gamma (l/L)^k) is the NTK factor at sequence length l (here l = the window, ctx); the attention "
                + "temperature 1 + 0.1 ln(l/L) applies in every row. (0.5, 0.7) is the default, the elastic row above.");
        line("");
        List<String> head = new ArrayList<>(List.of("gamma", "k"));
        for (int ctx : at) head.add("S at " + ctx);
        for (int ctx : at) head.add("ppl at " + ctx);
        row(head);
        row(java.util.Collections.nCopies(head.size(), "---"));
        for (ReportSweep.Method m : ReportSweep.elasticGrid()) {
            List<String> row = new ArrayList<>(List.of(Float.toString(m.gamma()), Float.toString(m.k())));
            for (int ctx : at) row.add(String.format(Locale.ROOT, "%.2f", Math.max(1, m.gamma() * Math.pow((double) ctx / trained, m.k()))));
            boolean isDefault = m.gamma() == RopeScaling.DEFAULT_ELASTIC_GAMMA && m.k() == RopeScaling.DEFAULT_ELASTIC_K;
            for (int ctx : at) {
                ReportSweep.Outcome o = outcome(isDefault ? "elastic" : m.key(), ctx);
                row.add(o == null || o.perplexity() == null ? "—" : ppl(o.perplexity().perplexity()));
            }
            row(row);
        }
        line("");
    }

    private void passkeyTables() {
        line("## Passkey");
        line("");
        line("Share of keys retrieved whole / share of key tokens right, over all depths.");
        line("");
        header("method", contexts);
        for (ReportSweep.Method m : ReportSweep.MAIN) {
            List<String> row = new ArrayList<>(List.of(m.key()));
            for (int ctx : contexts) {
                ReportSweep.Outcome o = outcome(m.key(), ctx);
                row.add(o == null || o.passkey() == null ? (m.runsAt(ctx, subject.trained()) ? "—" : "= none")
                        : pct(o.passkey().accuracy()) + " / " + pct(o.passkey().tokenAccuracy()));
            }
            row(row);
        }
        line("");
        line("Key-token accuracy by needle depth (0: first in the prompt, 1: just before the question):");
        line("");
        List<String> head = new ArrayList<>(List.of("method", "depth"));
        for (int c : contexts) head.add(Integer.toString(c));
        row(head);
        row(java.util.Collections.nCopies(head.size(), "---"));
        for (ReportSweep.Method m : ReportSweep.MAIN) {
            for (int d = 0; d < plan.depths().length; d++) {
                List<String> row = new ArrayList<>(List.of(d == 0 ? m.key() : "", fmt(plan.depths()[d])));
                for (int ctx : contexts) {
                    ReportSweep.Outcome o = outcome(m.key(), ctx);
                    row.add(o == null || o.passkey() == null ? "" : pct(o.passkey().depths().get(d).tokenAccuracy()));
                }
                row(row);
            }
        }
        line("");
    }

    private void speedTable() {
        line("## Speed and memory");
        line("");
        line("Tokens per second through the model while scoring perplexity (prefill in chunks, all logits), %d cell(s) at once "
                + "with %d thread(s) each, so anything else the machine ran shows in them; KV cache as allocated for one window. "
                + "Passkey prompts: mean tokens before the key.", plan.jobs(), plan.threads());
        line("");
        row(List.of("ctx", "tok/s none", "tok/s window + sinks", "KV cache (f32)", "passkey prompt tokens"));
        row(java.util.Collections.nCopies(5, "---"));
        for (int ctx : contexts) {
            ReportSweep.Outcome none = outcome("none", ctx), window = outcome("window + sinks", ctx);
            row(List.of(Integer.toString(ctx), speed(none), speed(window),
                    none == null || none.perplexity() == null ? "—" : bytes(none.perplexity().kvBytes()),
                    none == null || none.passkey() == null ? "—" : String.format(Locale.ROOT, "%.0f", none.passkey().meanPromptTokens())));
        }
        line("");
    }

    private void kvTable() {
        if (plan.kvMultiples().length == 0) return;
        line("## KV cache types");
        line("");
        line("No RoPE scaling; f32 is the none cell of the tables above.");
        line("");
        row(List.of("ctx", "KV type", "perplexity", "tok/s", "KV cache"));
        row(java.util.Collections.nCopies(5, "---"));
        for (double mult : plan.kvMultiples()) {
            int ctx = ReportSweep.Plan.ctx(mult, subject.trained());
            for (ReportSweep.Method m : ReportSweep.kvTypes()) {
                ReportSweep.Outcome o = outcome(m.kv() == dev.longbow.backend.KvType.F32 ? "none" : m.key(), ctx);
                if (o == null) row(List.of(Integer.toString(ctx), m.kv().key(), "—", "—", "—"));
                else if (o.perplexity() == null) row(List.of(Integer.toString(ctx), m.kv().key(), "n/a: " + o.unavailable(), "", ""));
                else row(List.of(Integer.toString(ctx), m.kv().key(), ppl(o.perplexity().perplexity()), speed(o), bytes(o.perplexity().kvBytes())));
            }
        }
        line("");
    }

    private void reproduce(String textFile) {
        int trained = subject.trained();
        line("## Reproducing one cell");
        line("");
        line("```");
        // The bundled model is the commands' default; its unpacked path is no one else's.
        String model = subject.bundled() ? "" : "--model " + subject.path() + " ";
        line("longbow perplexity %s--text-file %s --max-tokens %d --ctx N FLAGS --json", model, textFile, subject.tokens().length);
        line("longbow passkey %s--ctx N --depths %s --trials %d --seed %d FLAGS --json", model, depthList(), plan.trials(), plan.seed());
        line("```");
        line("");
        row(List.of("method", "FLAGS"));
        row(List.of("---", "---"));
        List<ReportSweep.Method> all = new ArrayList<>(ReportSweep.MAIN);
        all.addAll(ReportSweep.elasticGrid());
        all.addAll(ReportSweep.kvTypes());
        for (ReportSweep.Method m : all) row(List.of(m.key(), "`" + m.flags(trained) + "`"));
        line("");
    }

    private String depthList() {
        List<String> d = new ArrayList<>();
        for (double x : plan.depths()) d.add(fmt(x));
        return String.join(",", d);
    }

    private void header(String first, List<Integer> ctxs) {
        List<String> head = new ArrayList<>(List.of(first));
        for (int c : ctxs) head.add(c == subject.trained() ? c + " (L)" : Integer.toString(c));
        row(head);
        row(java.util.Collections.nCopies(head.size(), "---"));
    }

    private void row(List<String> cells) {
        md.append("| ").append(String.join(" | ", cells)).append(" |\n");
    }

    private void line(String format, Object... args) {
        md.append(args.length == 0 ? format : String.format(Locale.ROOT, format, args)).append('\n');
    }

    static String ppl(double p) {
        if (Double.isNaN(p) || Double.isInfinite(p)) return "∞";
        return p < 100 ? String.format(Locale.ROOT, "%.3f", p) : p < 1e5 ? String.format(Locale.ROOT, "%.1f", p) : String.format(Locale.ROOT, "%.3g", p);
    }

    static String pct(double f) {
        return String.format(Locale.ROOT, "%.0f%%", 100 * f);
    }

    static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    private static String speed(ReportSweep.Outcome o) {
        return o == null || o.perplexity() == null ? "—" : String.format(Locale.ROOT, "%,.0f", o.perplexity().tokensPerSecond());
    }

    static String bytes(long b) {
        if (b < 1 << 20) return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        return String.format(Locale.ROOT, "%.2f MiB", b / (double) (1 << 20));
    }

    /** Mean key-token accuracy per depth, for the heatmaps. */
    static Double depthAccuracy(ReportSweep.Outcome o, int depth) {
        if (o == null || o.passkey() == null) return null;
        Passkey.Depth d = o.passkey().depths().get(depth);
        return d.tokenAccuracy();
    }
}
