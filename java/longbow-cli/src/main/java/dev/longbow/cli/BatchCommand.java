package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.engine.SamplerParams;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/** {@code longbow batch}: runs a JSONL file of prompts into a JSONL file of results, resumably. */
final class BatchCommand implements Command {
    /** Results are forced to disk at most this often (see BatchOutput): a kill loses nothing, a power cut at most this much. */
    static final long FORCE_EVERY_NANOS = 1_000_000_000L;

    @Override
    public String name() {
        return "batch";
    }

    @Override
    public String summary() {
        return "run a JSONL file of prompts into a JSONL file of results (resumable)";
    }

    @Override
    public String help() {
        return "usage: longbow batch [--model PATH] --input prompts.jsonl --output results.jsonl [--concurrency N] [options]\n\n"
                + """
                Each input line is a JSON object: "id" (string or number, unique), "prompt" (string) or "messages"
                ([{"role", "content"}], rendered as "role: content" lines then "assistant:", as there is no chat
                template yet), and optionally max_tokens, temperature, top_p, top_k, min_p, seed, repeat_penalty,
                presence_penalty, frequency_penalty (OpenAI's, -2 to 2) and stop (a string or a list: the text is cut where one starts); any other field makes the line malformed,
                so that a misspelt one cannot silently change a run. Each output line has the id, text,
                prompt_tokens, completion_tokens, cached_prompt_tokens (found computed by an earlier line with the
                same prompt prefix), finish_reason (stop | length | context), prefill_tok_s,
                decode_tok_s, ttft_ms, seconds and seed; an item that cannot run (a prompt longer than the context)
                gets a line with "error" instead. With --concurrency above 1, lines come out in the order they finish.

                Resumable: run it again after a kill and it skips ids already in the output, first removing a partial
                last line. A malformed input line is reported with its line number and skipped.

                  --input FILE        prompts, one JSON object a line (required)
                  --output FILE       results, appended to (required)
                  --concurrency N     generations at once (default 1); above 1 they decode as one batch
                                      (continuous batching: each step reads the weights once for all N)
                  --no-batching       with --concurrency, run each generation's own forward passes instead
                """ + BatchingFlags.HELP + """
                  --strict            check the whole input first and stop at a malformed line instead of skipping it
                  --retry-errors      run again the ids whose earlier result was an error (their lines are removed)
                  --max-tokens N      default for lines without max_tokens (256)
                  --temperature T     default temperature (0.8; 0 = greedy)
                  --top-k K           default top_k (40; 0 = off)
                  --top-p P           default top_p (0.95; 1 = off)
                  --min-p P           default min_p (0.05; 0 = off)
                  --repeat-penalty R  default repeat_penalty (1.0 = off)
                  --seed S            default seed (default: a random one per line, written to its result)
                  --no-bos            do not start prompts with the BOS token
                  --parse-special     special tokens spelled in prompts become their ids
                """ + ModelOptions.HELP;
    }

    @Override
    public Set<String> valuedOptions() {
        return ContextFlags.with(Set.of("--model", "--tokenizer", "--threads", "--ctx", "--input", "--output", "--concurrency",
                "--max-tokens", "--temperature", "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--seed", "--kv-memory"));
    }

    @Override
    public Set<String> flags() {
        return Set.of("--strict", "--retry-errors", "--no-batching", "--no-bos", "--parse-special", "--reference-kernels", "--no-prefix-cache");
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) throws Exception {
        Path input = a.path("--input"), output = a.path("--output");
        if (input == null) throw new LongbowException("batch: --input FILE is required (one JSON object a line)");
        if (output == null) throw new LongbowException("batch: --output FILE is required");
        if (Files.exists(output) && Files.exists(input) && Files.isSameFile(input, output)) {
            throw new LongbowException("batch: --input and --output are the same file");
        }
        int concurrency = a.integer("--concurrency", 1);
        if (concurrency < 1) throw new LongbowException("batch: --concurrency must be >= 1, got " + concurrency);
        BatchInput.Defaults defaults = defaults(a);

        BatchInput.Parsed parsed = BatchInput.read(input, defaults, new SplittableRandom()::nextLong);
        for (BatchInput.Problem p : parsed.problems()) {
            if (a.has("--strict")) throw new LongbowException(input + ":" + p.line() + ": " + p.message());
            err.println("longbow: " + input + ":" + p.line() + ": " + p.message() + " (skipped)");
        }
        try (BatchOutput results = BatchOutput.open(output, a.has("--retry-errors"), FORCE_EVERY_NANOS)) {
            BatchOutput.Resumed resumed = results.resumed();
            if (resumed.truncatedBytes() > 0) {
                err.println("longbow: " + output + ": removed a partial last line (" + resumed.truncatedBytes() + " bytes) left by an interrupted run");
            }
            if (resumed.droppedErrorLines() > 0) {
                err.println("longbow: " + output + ": removed " + resumed.droppedErrorLines() + " error lines to run them again");
            }
            List<BatchItem> todo = parsed.items().stream().filter(i -> !resumed.done().contains(i.key())).toList();
            int already = parsed.items().size() - todo.size();
            BatchRunner.Outcome outcome = null;
            BatchProgress progress = null;
            dev.longbow.engine.BatchScheduler.Stats batching = null;
            if (!todo.isEmpty()) {
                try (Model model = Longbow.load(ModelOptions.model(a), ModelOptions.load(a, err))) {
                    // The worker threads then only wait on the shared scheduler, which runs their generations together.
                    BatchingFlags.apply(model, a, concurrency > 1 && !a.has("--no-batching"), Math.min(concurrency, todo.size()),
                            "it needs --concurrency above 1 and no --no-batching", err);
                    boolean terminal = Terminal.stderrIsTerminal();
                    progress = new BatchProgress(err, terminal, parsed.items().size(), already, System.nanoTime());
                    outcome = BatchRunner.run(model, todo, concurrency, !a.has("--no-bos"), a.has("--parse-special"), results, progress,
                            terminal ? 200_000_000L : 1_000_000_000L);
                    batching = model.batchingStats();
                }
            }
            String skipped = parsed.problems().isEmpty() ? "" : ", " + parsed.problems().size() + " malformed lines skipped";
            int oldErrors = (int) parsed.items().stream().filter(i -> resumed.errors().contains(i.key())).count();
            String errorsBefore = oldErrors == 0 ? "" : " (" + oldErrors + " of them errors; --retry-errors runs those again)";
            if (parsed.items().isEmpty()) {
                err.println("longbow: batch: nothing to run, " + input + " has no valid lines" + skipped);
            } else if (todo.isEmpty()) {
                err.println("longbow: batch: nothing to run, all " + already + " ids are in " + output + errorsBefore + skipped);
            } else {
                double seconds = progress.seconds(System.nanoTime());
                err.printf("longbow: batch: %d written (%d with an error), %d already in %s%s%s; %d tokens in %.1f s (%.1f tok/s)%n",
                        outcome.results() + outcome.errors(), outcome.errors(), already, output, errorsBefore, skipped,
                        progress.tokens(), seconds, progress.tokens() / seconds);
                if (batching != null && batching.decodeSteps() > 0) {
                    err.printf("longbow: batch: continuous batching: %d decode steps of %.1f sequences on average, %d preemptions, "
                                    + "%d prompt tokens taken from shared prefixes, KV budget %d blocks%n",
                            batching.decodeSteps(), batching.decodedRows() / (double) batching.decodeSteps(), batching.preemptions(),
                            batching.kv().prefixHits(), batching.kv().capacityBlocks());
                }
            }
        }
        return 0;
    }

    private static BatchInput.Defaults defaults(Args a) {
        int maxTokens = a.integer("--max-tokens", 256);
        if (maxTokens < 0) throw new LongbowException("batch: --max-tokens must be >= 0, got " + maxTokens);
        // Built once here so a bad option is one error about the option, not the same error on every line.
        SamplerParams p = new SamplerParams(a.number("--temperature", 0.8f), a.integer("--top-k", 40), a.number("--top-p", 0.95f),
                a.number("--min-p", 0.05f), a.number("--repeat-penalty", 1f), 64, 0);
        return new BatchInput.Defaults(maxTokens, p.temperature(), p.topK(), p.topP(), p.minP(), p.repetitionPenalty(),
                a.has("--seed") ? a.longValue("--seed", 0) : null);
    }

}
