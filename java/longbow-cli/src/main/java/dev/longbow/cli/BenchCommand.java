package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.backend.cpu.MemoryBandwidth;
import dev.longbow.util.Json;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/** Prefill and decode speed on a model, beside the ceiling the machine's memory bandwidth puts on decode. */
final class BenchCommand implements Command {
    /** Enough to defeat every cache level, small enough to allocate anywhere. */
    private static final long BANDWIDTH_BUFFER = 1L << 30;

    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String summary() {
        return "measure prefill and decode speed against the memory-bandwidth bound";
    }

    @Override
    public String help() {
        return "usage: longbow bench [--model PATH] [--prompt-tokens N] [--gen-tokens N] [--threads N] [--json]\n\n"
                + "Prefills N random token ids (fixed seed), then decodes greedily without stopping at end of text, after an\n"
                + "untimed warm-up. Decode reads every weight once per token, so measured read bandwidth / weight bytes is\n"
                + "its ceiling; the report gives that bound and the fraction reached.\n\n" + ModelOptions.HELP + """
                  --prompt-tokens N   prompt length (default 256)
                  --gen-tokens N      tokens to decode (default 32)
                  --bandwidth GBPS    use this read bandwidth (GB/s) instead of measuring it
                  --seed S            prompt seed (default 1)
                  --json              print one JSON object
                """;
    }

    @Override
    public Set<String> valuedOptions() {
        return ContextFlags.with(Set.of("--model", "--tokenizer", "--threads", "--ctx", "--prompt-tokens", "--gen-tokens", "--bandwidth", "--seed"));
    }

    @Override
    public Set<String> flags() {
        return Set.of("--json", "--reference-kernels");
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) {
        int promptTokens = a.integer("--prompt-tokens", 256), genTokens = a.integer("--gen-tokens", 32);
        if (promptTokens < 1) throw new LongbowException("bench: --prompt-tokens must be >= 1");
        if (genTokens < 2) throw new LongbowException("bench: --gen-tokens must be >= 2 (decode speed is measured after the first)");
        var load = ModelOptions.load(a, err);
        int threads = load.threads() > 0 ? load.threads() : Runtime.getRuntime().availableProcessors();
        try (Model model = Longbow.load(ModelOptions.model(a), load.withThreads(threads))) {
            if (promptTokens + genTokens > model.contextLength()) {
                throw new LongbowException("bench: " + promptTokens + " + " + genTokens + " tokens exceed the context of " + model.contextLength() + "; use --ctx");
            }
            int[] prompt = new int[promptTokens];
            SplittableRandom r = new SplittableRandom(a.longValue("--seed", 1));
            int vocab = model.tokenizer().vocabSize();
            for (int i = 0; i < promptTokens; i++) prompt[i] = r.nextInt(vocab);
            if (model.tokenizer().bos() >= 0) prompt[0] = model.tokenizer().bos();
            Model.BenchmarkResult b = model.benchmark(prompt, genTokens);

            double bandwidth;
            if (a.has("--bandwidth")) {
                try {
                    bandwidth = Double.parseDouble(a.str("--bandwidth", ""));
                } catch (NumberFormatException e) {
                    throw new LongbowException("bench: --bandwidth must be a number of GB/s");
                }
            } else {
                bandwidth = MemoryBandwidth.readGigabytesPerSecond(threads, BANDWIDTH_BUFFER, 5);
            }
            long perToken = model.decodeBytesPerToken();
            double bound = bandwidth * 1e9 / perToken;
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", ModelOptions.model(a).toString());
            o.put("backend", model.backend());
            o.put("threads", threads);
            o.put("model_bytes", model.weightBytes());
            o.put("decode_bytes_per_token", perToken);
            o.put("prompt_tokens", b.promptTokens());
            o.put("gen_tokens", b.generatedTokens());
            o.put("prefill_tok_s", round(b.prefillTokensPerSecond()));
            o.put("decode_tok_s", round(b.decodeTokensPerSecond()));
            o.put("ttft_ms", round(b.firstTokenMillis()));
            o.put("attention_flops_skipped", round(b.attentionFlopsSkipped()));
            o.put("bandwidth_gb_s", round(bandwidth));
            o.put("bandwidth_bound_tok_s", round(bound));
            o.put("fraction_of_bound", round(b.decodeTokensPerSecond() / bound));
            if (a.has("--json")) {
                out.println(Json.write(o));
            } else {
                out.printf(Locale.ROOT, "%s on %s%n", o.get("model"), model.backend());
                out.printf(Locale.ROOT, "prefill  %,d tokens at %.1f tok/s (first token after %.1f ms)%n", b.promptTokens(), b.prefillTokensPerSecond(), b.firstTokenMillis());
                out.printf(Locale.ROOT, "decode   %,d tokens at %.2f tok/s = %.0f%% of the bound %.2f tok/s (%.1f GB/s over %,d bytes per token)%n",
                        b.generatedTokens(), b.decodeTokensPerSecond(), 100 * b.decodeTokensPerSecond() / bound, bound, bandwidth, perToken);
                if (b.attentionFlopsSkipped() > 0) {
                    out.printf(Locale.ROOT, "attention skipped %.1f%% of dense score FLOPs%n", 100 * b.attentionFlopsSkipped());
                }
            }
        }
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
