package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.engine.Perplexity;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Sweeps RoPE scaling methods, attention settings and KV types over context lengths around each model's trained
 * one, and writes perplexity and passkey plots (PNG, SVG) and Markdown tables of what it measured.
 */
final class LongContextReportCommand implements Command {
    /**
     * Tokens scored per perplexity cell: four windows at 8L, and every method scores the same tokens, so differences
     * of a percent between methods are less at the mercy of which text was drawn (at 8,192 tokens the ranking of
     * none and ntk at 4L flipped). With one passkey key per depth the full sweep of both sample models took 19
     * minutes on two cores that other work was partly sharing.
     */
    static final int DEFAULT_TOKENS = 16384;
    static final String DEFAULT_DEPTHS = "0,0.25,0.5,0.75,1";

    @Override
    public String name() {
        return "long-context-report";
    }

    @Override
    public String summary() {
        return "sweep RoPE scaling and attention settings over context lengths; write plots and tables";
    }

    @Override
    public String help() {
        return """
                usage: longbow long-context-report [--model PATH ...] [--out DIR] [--quick] [options]

                For each model, each method (none, linear, ntk, dynamic, yarn, elastic, elastic without its attention
                temperature, a window of L/2 with %d sinks) and each context L/2, L, 2L, 4L, 8L (L: the trained context):
                perplexity over the first --tokens tokens of the text, passkey retrieval at --depths, speed and KV memory;
                then elastic's gamma x k at 2L and 4L and the KV cache types at L and 4L. Writes DIR/long-context/
                ppl-MODEL.png/.svg, passkey-MODEL.png/.svg and results-MODEL.md.

                  --model PATH    a model to sweep (repeatable; default: the sample stories260K, and
                                  SHARED/models/babyllama105.bin when present)
                  --shared DIR    shared data folder (default: $LONGBOW_SHARED, else ../shared beside the project)
                  --text FILE     evaluation text (default SHARED/data/tinystories-valid-800k.txt)
                  --out DIR       where long-context/ goes (default docs)
                  --tokens T      tokens scored per perplexity cell (default %d)
                  --depths D,...  passkey needle depths in [0, 1] (default %s)
                  --trials K      passkey keys per depth (default 1)
                  --seed S        passkey key seed (default 1)
                  --jobs J        cells run at once (default: 2, or 1 on one core)
                  --threads N     threads per cell (default 1)
                  --quick         a smoke run: contexts L/2, L, 2L, 1024 tokens per cell, depths 0 and 1
                """.formatted(ReportSweep.SINKS, DEFAULT_TOKENS, DEFAULT_DEPTHS);
    }

    @Override
    public Set<String> valuedOptions() {
        return Set.of("--model", "--shared", "--text", "--out", "--tokens", "--depths", "--trials", "--seed", "--jobs", "--threads");
    }

    @Override
    public Set<String> flags() {
        return Set.of("--quick");
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) throws IOException, InterruptedException {
        // Plots are drawn off screen; without this AWT may look for a display.
        System.setProperty("java.awt.headless", "true");
        long start = System.nanoTime();
        boolean quick = a.has("--quick");
        int cores = Runtime.getRuntime().availableProcessors();
        ReportSweep.Plan plan = new ReportSweep.Plan(
                quick ? new double[]{0.5, 1, 2} : new double[]{0.5, 1, 2, 4, 8},
                quick ? new double[]{2} : new double[]{2, 4},
                quick ? new double[]{1} : new double[]{1, 4},
                positive(a, "--tokens", quick ? 1024 : DEFAULT_TOKENS),
                PasskeyCommand.depths(name(), a.str("--depths", quick ? "0,1" : DEFAULT_DEPTHS)),
                positive(a, "--trials", 1),
                a.longValue("--seed", 1),
                positive(a, "--jobs", Math.min(2, cores)),
                positive(a, "--threads", 1));

        Path shared = shared(a);
        Path text = a.has("--text") ? a.path("--text") : shared.resolve("data/tinystories-valid-800k.txt");
        if (!Files.isRegularFile(text)) throw new LongbowException(name() + ": evaluation text " + text + " not found (give --text, or --shared with data/)");
        String content = TokenizeCommand.readText(name(), text);
        if (content.isEmpty()) throw new LongbowException(name() + ": " + text + " is empty");
        List<ReportSweep.Subject> subjects = new ArrayList<>();
        for (Path p : models(a, shared)) subjects.add(subject(p, content, plan.tokenBudget()));
        List<ReportSweep.Cell> cells = ReportSweep.cells(subjects, plan);
        err.printf(Locale.ROOT, "long-context-report: %d cells over %d model(s), %d at once%n", cells.size(), subjects.size(), plan.jobs());
        ReportSweep.warmUp(subjects, plan);
        List<ReportSweep.Outcome> outcomes = ReportSweep.run(cells, plan, err);
        double seconds = (System.nanoTime() - start) / 1e9;

        Path dir = (a.has("--out") ? a.path("--out") : Path.of("docs")).resolve("long-context");
        Files.createDirectories(dir);
        String command = "longbow " + name() + (a.argv().isEmpty() ? "" : " " + String.join(" ", a.argv()));
        String machine = String.format(Locale.ROOT, "%d cores, %d cell(s) at once with %d thread(s) each, Java %s",
                cores, plan.jobs(), plan.threads(), Runtime.version());
        for (ReportSweep.Subject s : subjects) {
            List<ReportSweep.Outcome> mine = outcomes.stream().filter(o -> o.cell().subject() == s).toList();
            ReportMarkdown md = new ReportMarkdown(s, plan, mine);
            String ppl = "ppl-" + s.name(), passkey = "passkey-" + s.name();
            ReportCharts.perplexity(s.name() + ": perplexity against context", s.trained(), lines(md, s, plan),
                    dir.resolve(ppl + ".png"), dir.resolve(ppl + ".svg"));
            ReportCharts.passkey(s.name() + ": passkey key-token accuracy by needle depth and context", heats(md, s, plan),
                    dir.resolve(passkey + ".png"), dir.resolve(passkey + ".svg"));
            Path results = dir.resolve("results-" + s.name() + ".md");
            Files.writeString(results, md.render(command, text.toString(), machine, seconds, ppl + ".png", passkey + ".png"), StandardCharsets.UTF_8);
            out.println("wrote " + results + ", " + dir.resolve(ppl + ".png") + " (.svg), " + dir.resolve(passkey + ".png") + " (.svg)");
        }
        out.printf(Locale.ROOT, "%d cells in %.0f s%n", cells.size(), seconds);
        return 0;
    }

    private static List<ReportCharts.Line> lines(ReportMarkdown md, ReportSweep.Subject s, ReportSweep.Plan plan) {
        List<ReportCharts.Line> lines = new ArrayList<>();
        for (ReportSweep.Method m : ReportSweep.MAIN) {
            List<Integer> ctx = new ArrayList<>();
            List<Double> ppl = new ArrayList<>();
            for (double mult : plan.ctxMultiples()) {
                int c = ReportSweep.Plan.ctx(mult, s.trained());
                // At L a static method's factor is 1, the none run: the line starts from it.
                ReportSweep.Outcome o = md.outcome(c == s.trained() && !m.runsAt(c, s.trained()) ? "none" : m.key(), c);
                if (o == null || o.perplexity() == null || !Double.isFinite(o.perplexity().perplexity())) continue;
                ctx.add(c);
                ppl.add(o.perplexity().perplexity());
            }
            lines.add(new ReportCharts.Line(m.key(), ctx, ppl));
        }
        return lines;
    }

    private static List<ReportCharts.Heat> heats(ReportMarkdown md, ReportSweep.Subject s, ReportSweep.Plan plan) {
        List<ReportCharts.Heat> heats = new ArrayList<>();
        List<Integer> contexts = new ArrayList<>();
        for (double mult : plan.ctxMultiples()) contexts.add(ReportSweep.Plan.ctx(mult, s.trained()));
        for (ReportSweep.Method m : ReportSweep.MAIN) {
            Double[][] values = new Double[plan.depths().length][contexts.size()];
            for (int d = 0; d < plan.depths().length; d++) {
                for (int x = 0; x < contexts.size(); x++) values[d][x] = ReportMarkdown.depthAccuracy(md.outcome(m.key(), contexts.get(x)), d);
            }
            heats.add(new ReportCharts.Heat(m.key(), contexts, plan.depths(), values));
        }
        return heats;
    }

    private ReportSweep.Subject subject(Path path, String text, int budget) {
        if (!Files.exists(path)) throw new LongbowException(name() + ": model " + path + " not found");
        try (Model m = Longbow.load(path, LoadOptions.DEFAULT.withThreads(1))) {
            String file = path.getFileName().toString();
            String name = Files.isDirectory(path) ? file : file.replaceFirst("\\.[^.]+$", "");
            int trained = m.config().contextLength();
            if (trained < 4) throw new LongbowException(name() + ": " + path + " has a trained context of " + trained + " tokens, too short to sweep");
            return new ReportSweep.Subject(name, path, path.equals(Longbow.defaultModel()), trained, Perplexity.tokens(m.tokenizer(), text, budget));
        }
    }

    private static List<Path> models(Args a, Path shared) {
        List<Path> models = new ArrayList<>();
        for (String m : a.all("--model")) models.add(Path.of(m));
        if (!models.isEmpty()) return models;
        models.add(Longbow.defaultModel());
        Path baby = shared.resolve("models/babyllama105.bin");
        if (Files.isRegularFile(baby)) models.add(baby);
        return models;
    }

    /** --shared, else $LONGBOW_SHARED, else ../shared beside the project this command was built in. */
    private static Path shared(Args a) {
        if (a.has("--shared")) return a.path("--shared");
        String env = System.getenv("LONGBOW_SHARED");
        if (env != null && !env.isEmpty()) return Path.of(env);
        Path p = projectRoot();
        return p == null ? Path.of("../shared") : p.resolve("../shared").normalize();
    }

    /** The folder holding models/ and java/ above this class's jar or classes folder, or above the working directory. */
    private static Path projectRoot() {
        List<Path> starts = new ArrayList<>();
        try {
            starts.add(Path.of(LongContextReportCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
        } catch (Exception e) {
            // No code source (an unusual class loader): the working directory is the only clue.
        }
        starts.add(Path.of("").toAbsolutePath());
        for (Path p : starts) {
            for (Path q = p; q != null; q = q.getParent()) if (Files.isDirectory(q.resolve("models")) && Files.isDirectory(q.resolve("java"))) return q;
        }
        return null;
    }

    private int positive(Args a, String option, int dflt) {
        int v = a.integer(option, dflt);
        if (v < 1) throw new LongbowException(name() + ": " + option + " must be >= 1, got " + v);
        return v;
    }
}
