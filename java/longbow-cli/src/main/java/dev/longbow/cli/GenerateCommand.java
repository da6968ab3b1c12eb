package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.api.GenerateRequest;
import dev.longbow.api.GenerateResult;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.engine.SamplerParams;
import dev.longbow.engine.StopReason;
import dev.longbow.util.Json;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

final class GenerateCommand implements Command {
    @Override
    public String name() {
        return "generate";
    }

    @Override
    public String summary() {
        return "generate text from a prompt";
    }

    @Override
    public String help() {
        return "usage: longbow generate [--model PATH] (--prompt TEXT | --prompt-file FILE) [options]\n\n"
                + "Prints the prompt and its continuation as it is generated; speed goes to stderr.\n\n" + ModelOptions.HELP + """
                  --prompt TEXT       the prompt
                  --prompt-file FILE  read the prompt from a UTF-8 file
                  --max-tokens N      new tokens at most (default 256); generation also stops at end of text or the context
                  --temperature T     0 = greedy (default 0.8)
                  --top-k K           keep the K most likely tokens (default 40; 0 = off)
                  --top-p P           nucleus sampling (default 0.95; 1 = off)
                  --min-p P           drop tokens below P x the top probability (default 0.05; 0 = off)
                  --repeat-penalty R  penalise the last 64 tokens (default 1.0 = off)
                  --seed S            random seed (default: random, printed with --json)
                  --no-bos            do not start with the BOS token
                  --parse-special     special tokens spelled in the prompt (<|im_start|>) become their ids
                  --json              print one JSON object: text, token counts, speeds, stop reason
                """;
    }

    @Override
    public Set<String> valuedOptions() {
        return ContextFlags.with(Set.of("--model", "--tokenizer", "--threads", "--ctx", "--prompt", "--prompt-file", "--max-tokens", "--temperature",
                "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--seed"));
    }

    @Override
    public Set<String> flags() {
        return Set.of("--json", "--no-bos", "--parse-special", "--reference-kernels");
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) throws Exception {
        String prompt = a.str("--prompt", null);
        Path promptFile = a.path("--prompt-file");
        if (prompt != null && promptFile != null) throw new LongbowException("generate: give --prompt or --prompt-file, not both");
        if (promptFile != null) {
            if (!Files.isRegularFile(promptFile)) throw new LongbowException(promptFile + ": no such prompt file");
            prompt = Files.readString(promptFile);
        }
        if (prompt == null) prompt = "";
        int maxTokens = a.integer("--max-tokens", 256);
        if (maxTokens < 0) throw new LongbowException("generate: --max-tokens must be >= 0, got " + maxTokens);
        long seed = a.has("--seed") ? a.longValue("--seed", 0) : System.nanoTime() & 0x7FFFFFFFFFFFL;
        SamplerParams sampling = new SamplerParams(a.number("--temperature", 0.8f), a.integer("--top-k", 40),
                a.number("--top-p", 0.95f), a.number("--min-p", 0.05f), a.number("--repeat-penalty", 1f), 64, seed);
        boolean json = a.has("--json");

        try (Model model = Longbow.load(ModelOptions.model(a), ModelOptions.load(a, err))) {
            GenerateRequest request = new GenerateRequest(prompt, maxTokens, sampling, !a.has("--no-bos"), a.has("--parse-special"), !json, new AtomicBoolean());
            GenerateResult r = model.stream(request, (id, text) -> {
                if (!json) {
                    out.print(text);
                    out.flush();
                }
            });
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("text", r.text());
                o.put("prompt_tokens", r.promptTokens());
                o.put("generated_tokens", r.generatedTokens());
                o.put("stop_reason", r.stopReason().name().toLowerCase());
                o.put("prefill_tok_s", round(r.prefillTokensPerSecond()));
                o.put("decode_tok_s", round(r.decodeTokensPerSecond()));
                o.put("ttft_ms", round(r.timeToFirstTokenMillis()));
                o.put("attention_flops_skipped", Math.round(r.attentionFlopsSkipped() * 1e4) / 1e4);
                o.put("seed", seed);
                o.put("context_length", model.contextLength());
                o.put("kv_cache_bytes", r.kvCacheBytes());
                o.put("backend", model.backend());
                out.println(Json.write(o));
            } else {
                out.println();
                String skipped = r.attentionFlopsSkipped() > 0 ? String.format(", %.1f%% of attention score FLOPs skipped", 100 * r.attentionFlopsSkipped()) : "";
                err.printf("[%d prompt tokens at %.1f tok/s, %d generated at %.1f tok/s, %s%s]%n", r.promptTokens(), r.prefillTokensPerSecond(),
                        r.generatedTokens(), r.decodeTokensPerSecond(), model.backend(), skipped);
            }
            if (r.stopReason() == StopReason.CONTEXT_FULL) {
                err.println("longbow: stopped: the sequence reached the context length of " + model.contextLength() + " tokens");
            }
        }
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
