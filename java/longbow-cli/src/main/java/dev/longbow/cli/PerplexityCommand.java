package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.engine.Perplexity;
import dev.longbow.util.Json;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Perplexity of a text file with sliding windows of the run's context length. */
final class PerplexityCommand implements Command {
    @Override
    public String name() {
        return "perplexity";
    }

    @Override
    public String summary() {
        return "perplexity of a text file in windows of --ctx tokens (sliding with --stride)";
    }

    @Override
    public String help() {
        return "usage: longbow perplexity --text-file FILE [--model PATH] [--ctx N] [--stride S] [--max-tokens T] [options] [--json]\n\n"
                + "Windows of N tokens (BOS first when the vocabulary has one) start every S tokens; of each window only the\n"
                + "tokens no earlier window scored are scored, the rest are context (Hugging Face's perplexity guide).\n"
                + "perplexity = exp(mean negative log-likelihood per scored token).\n\n" + ModelOptions.HELP + """
                  --text-file FILE    UTF-8 text to score
                  --stride S          tokens between window starts, 1..N (default N: disjoint windows)
                  --max-tokens T      score only the first T tokens of the text (default: all)
                  --json              print one JSON object
                """;
    }

    @Override
    public Set<String> valuedOptions() {
        return ContextFlags.with(Set.of("--model", "--tokenizer", "--threads", "--ctx", "--text-file", "--stride", "--max-tokens"));
    }

    @Override
    public Set<String> flags() {
        return Set.of("--json", "--reference-kernels");
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) {
        if (!a.has("--text-file")) throw new LongbowException("perplexity: --text-file is required");
        int maxTokens = a.integer("--max-tokens", 0);
        if (maxTokens < 0 || (a.has("--max-tokens") && maxTokens == 0)) throw new LongbowException("perplexity: --max-tokens must be >= 1, got " + maxTokens);
        var load = ModelOptions.load(a, err);
        if (a.has("--ctx") && load.contextLength() < 2) throw new LongbowException("perplexity: --ctx must be >= 2, got " + load.contextLength());
        String text = TokenizeCommand.readText("perplexity", a.path("--text-file"));
        if (text.isEmpty()) throw new LongbowException("perplexity: " + a.path("--text-file") + " is empty");
        try (Model model = Longbow.load(ModelOptions.model(a), load)) {
            int ctx = model.contextLength();
            int stride = a.integer("--stride", ctx);
            if (stride < 1 || stride > ctx) throw new LongbowException("perplexity: --stride must be between 1 and --ctx (" + ctx + "), got " + stride);
            int[] tokens = Perplexity.tokens(model.tokenizer(), text, maxTokens);
            Perplexity.Result r = model.perplexity(tokens, stride);
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", ModelOptions.model(a).toString());
            o.put("text_file", a.path("--text-file").toString());
            o.put("perplexity", r.perplexity());
            o.put("nll", r.nll());
            o.put("tokens", r.tokens());
            o.put("windows", r.windows());
            o.put("ctx", r.ctx());
            o.put("stride", r.stride());
            o.put("rope_scaling", ScalingJson.of(model.config().ropeScaling()));
            o.put("kv_type", load.context().kvType().key());
            o.put("kv_bytes", r.kvBytes());
            o.put("forward_tokens", r.forwardTokens());
            o.put("seconds", r.seconds());
            o.put("tok_s", r.tokensPerSecond());
            if (a.has("--json")) {
                out.println(Json.write(o));
            } else {
                out.printf(Locale.ROOT, "perplexity %.4f over %,d tokens (mean NLL %.5f) in %d windows of %d, stride %d, rope %s%n",
                        r.perplexity(), r.tokens(), r.nll() / r.tokens(), r.windows(), r.ctx(), r.stride(), ScalingJson.text(model.config().ropeScaling()));
                out.printf(Locale.ROOT, "%.2f s, %.0f tok/s through the model, KV cache %,d bytes%n", r.seconds(), r.tokensPerSecond(), r.kvBytes());
            }
        }
        return 0;
    }
}
