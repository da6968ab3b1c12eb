package dev.longbow.cli;

import dev.longbow.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static dev.longbow.cli.CliTest.assertOneLineError;
import static dev.longbow.cli.CliTest.model;
import static dev.longbow.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** {@code longbow batch} end to end on the bundled stories260K model, including a kill -9 in the middle of a run. */
class BatchCliTest {
    @TempDir
    Path dir;

    Path write(String name, String... lines) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, String.join("\n", lines) + "\n");
        return p;
    }

    CliTest.Run batch(Path in, Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("batch", "--model", model().toString(), "--input", in.toString(), "--output", out.toString(),
                "--threads", "1"));
        args.addAll(List.of(more));
        return run(args.toArray(String[]::new));
    }

    /** Every line of the results file, parsed; fails unless the file ends with a newline and every line is an object. */
    static List<Map<String, Object>> results(Path p) throws IOException {
        String s = Files.readString(p);
        assertTrue(s.isEmpty() || s.endsWith("\n"), "results end with a newline");
        List<Map<String, Object>> out = new ArrayList<>();
        for (String line : s.lines().toList()) out.add(Json.parseObject(line, p.toString()));
        return out;
    }

    static Map<String, Map<String, Object>> byId(List<Map<String, Object>> lines) {
        Map<String, Map<String, Object>> m = new HashMap<>();
        for (var l : lines) assertEquals(null, m.put(Json.write(l.get("id")), l), "id " + l.get("id") + " appears twice");
        return m;
    }

    static String greedy(String prompt, int maxTokens) {
        CliTest.Run r = run("generate", "--model", model().toString(), "--prompt", prompt, "--max-tokens", String.valueOf(maxTokens),
                "--temperature", "0", "--threads", "1", "--json");
        assertEquals(0, r.code(), r.err());
        return (String) ((Map<?, ?>) Json.parse(r.out())).get("text");
    }

    @Test
    void continuousBatchingWritesWhatIndependentGenerationsWrite() throws Exception {
        String[] lines = new String[6];
        for (int i = 0; i < lines.length; i++) {
            lines[i] = "{\"id\": " + i + ", \"prompt\": \"" + List.of("Once upon a time", "Lily and Ben", "The dog", "A cat sat", "Tom went", "One day").get(i)
                    + "\", \"temperature\": 0, \"max_tokens\": " + (10 + 9 * i) + "}";
        }
        Path in = write("prompts.jsonl", lines);
        Path batched = dir.resolve("batched.jsonl"), independent = dir.resolve("independent.jsonl");
        CliTest.Run r = batch(in, batched, "--concurrency", "4");
        assertEquals(0, r.code(), r.err());
        r = batch(in, independent, "--concurrency", "4", "--no-batching");
        assertEquals(0, r.code(), r.err());
        Map<String, Map<String, Object>> a = byId(results(batched)), b = byId(results(independent));
        assertEquals(6, a.size());
        for (String id : a.keySet()) {
            assertEquals(b.get(id).get("text"), a.get(id).get("text"), "id " + id);
            assertEquals(b.get(id).get("completion_tokens"), a.get(id).get("completion_tokens"), "id " + id);
        }
    }

    @Test
    void aTightKvBudgetPreemptsAndRecomputesWithoutChangingTheText() throws Exception {
        String[] lines = new String[4];
        for (int i = 0; i < lines.length; i++) {
            lines[i] = "{\"id\": " + i + ", \"prompt\": \"" + List.of("Once upon a time", "Lily and Ben", "The dog", "A cat sat").get(i)
                    + "\", \"temperature\": 0, \"max_tokens\": 100}";
        }
        Path in = write("prompts.jsonl", lines);
        Path independent = dir.resolve("independent.jsonl"), tight = dir.resolve("tight.jsonl");
        CliTest.Run r = batch(in, independent, "--concurrency", "4", "--no-batching");
        assertEquals(0, r.code(), r.err());
        // Three KV blocks of 64 positions (80 KiB each for this model): three sequences start, then each needs a second block.
        r = batch(in, tight, "--concurrency", "4", "--kv-memory", "240K");
        assertEquals(0, r.code(), r.err());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+) preemptions, .* KV budget 3 blocks").matcher(r.err());
        assertTrue(m.find() && Integer.parseInt(m.group(1)) > 0, r.err());
        Map<String, Map<String, Object>> a = byId(results(independent)), c = byId(results(tight));
        for (String id : a.keySet()) {
            assertEquals(a.get(id).get("text"), c.get(id).get("text"), "id " + id);
            assertEquals(a.get(id).get("finish_reason"), c.get(id).get("finish_reason"), "id " + id);
        }
    }

    @Test
    void batchingOptionsAreCheckedWithOneLineErrors() throws Exception {
        Path in = write("prompts.jsonl", "{\"id\": 1, \"prompt\": \"Once\", \"max_tokens\": 2}");
        assertOneLineError(batch(in, dir.resolve("a.jsonl"), "--concurrency", "2", "--kv-memory", "12Q"), "--kv-memory expects a positive size");
        assertOneLineError(batch(in, dir.resolve("b.jsonl"), "--concurrency", "2", "--kv-memory", "1K"), "holds no block");
        assertOneLineError(batch(in, dir.resolve("c.jsonl"), "--kv-memory", "1M"), "--kv-memory applies to continuous batching, which is off");
    }

    @Test
    void fullRunWritesOneCompleteLinePerPrompt() throws Exception {
        Path in = write("prompts.jsonl",
                "{\"id\": 1, \"prompt\": \"Once upon a time\", \"temperature\": 0, \"max_tokens\": 20}",
                "{\"id\": \"two\", \"prompt\": \"Lily and Ben\", \"seed\": 3}",
                "{\"id\": 3, \"messages\": [{\"role\": \"user\", \"content\": \"Tell me about a cat\"}], \"max_tokens\": 8}",
                "{\"id\": 4, \"prompt\": \"Once upon a time\", \"temperature\": 0, \"max_tokens\": 60, \"stop\": [\".\", \"zzz\"]}",
                "{\"id\": 5, \"prompt\": \"The dog\", \"temperature\": 0.5, \"top_k\": 5, \"top_p\": 0.9, \"min_p\": 0.1, \"repeat_penalty\": 1.2, \"seed\": 1}",
                "{\"id\": 6, \"prompt\": \"\", \"max_tokens\": 0}");
        Path out = dir.resolve("results.jsonl");
        CliTest.Run r = batch(in, out, "--concurrency", "2", "--max-tokens", "16");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("longbow: batch: 6 written (0 with an error), 0 already in"), r.err());
        assertEquals("", r.out());

        Map<String, Map<String, Object>> byId = byId(results(out));
        assertEquals(Set.of("1", "\"two\"", "3", "4", "5", "6"), byId.keySet());
        for (var l : byId.values()) {
            assertEquals(List.of("id", "text", "prompt_tokens", "completion_tokens", "cached_prompt_tokens", "finish_reason", "prefill_tok_s", "decode_tok_s",
                    "ttft_ms", "seconds", "seed"), List.copyOf(l.keySet()), l.toString());
            assertTrue(Set.of("stop", "length").contains(l.get("finish_reason")), l.toString());
            assertTrue(((Number) l.get("seconds")).doubleValue() >= 0);
        }
        Map<String, Object> one = byId.get("1");
        assertEquals(greedy("Once upon a time", 20), one.get("text"), "the same text as generate");
        assertEquals(20L, one.get("completion_tokens"));
        assertEquals("length", one.get("finish_reason"));
        assertEquals(5L, one.get("prompt_tokens"));
        assertEquals(16L, byId.get("\"two\"").get("completion_tokens"), "--max-tokens is the default");
        assertEquals(3L, byId.get("\"two\"").get("seed"));
        assertEquals(8L, byId.get("3").get("completion_tokens"));

        String full = greedy("Once upon a time", 60);
        int dot = full.indexOf('.');
        assertTrue(dot > 0, full);
        Map<String, Object> four = byId.get("4");
        assertEquals(full.substring(0, dot), four.get("text"), "cut where the stop sequence begins");
        assertEquals("stop", four.get("finish_reason"));
        assertTrue((Long) four.get("completion_tokens") < 60);

        assertEquals("", byId.get("6").get("text"));
        assertEquals(0L, byId.get("6").get("completion_tokens"));
        assertEquals(1L, byId.get("6").get("prompt_tokens"), "BOS alone");

        CliTest.Run again = batch(in, out);
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("nothing to run, all 6 ids are in"), again.err());
        assertEquals(6, results(out).size());
    }

    @Test
    void resumeKeepsCompleteLinesAndReplacesAPartialOne() throws Exception {
        Path in = write("p.jsonl", "{\"id\": 1, \"prompt\": \"a\"}", "{\"id\": 2, \"prompt\": \"b\"}", "{\"id\": 3, \"prompt\": \"c\"}",
                "{\"id\": 4, \"prompt\": \"d\"}");
        Path out = dir.resolve("r.jsonl");
        // As a kill leaves it: two whole lines, then part of a third.
        Files.writeString(out, "{\"id\":2,\"text\":\"from before\"}\n{\"id\":4,\"text\":\"from before\"}\n{\"id\":1,\"text\":\"Once upo");
        CliTest.Run r = batch(in, out, "--max-tokens", "4");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("removed a partial last line (24 bytes) left by an interrupted run"), r.err());
        assertTrue(r.err().contains("2 written (0 with an error), 2 already in"), r.err());
        List<Map<String, Object>> lines = results(out);
        assertEquals(List.of(2L, 4L), List.of(lines.get(0).get("id"), lines.get(1).get("id")), "earlier lines stay as they were");
        assertEquals("from before", lines.get(0).get("text"));
        Map<String, Map<String, Object>> byId = byId(lines);
        assertEquals(Set.of("1", "2", "3", "4"), byId.keySet());
        assertEquals(4L, byId.get("1").get("completion_tokens"));
    }

    @Test
    void malformedLinesAreReportedWithTheirNumbersAndSkipped() throws Exception {
        Path in = write("prompts.jsonl", "{\"id\": 1, \"prompt\": \"a\"}", "{\"id\": 1, \"prompt\": \"b\"}", "{\"id\": 2, \"prompt\": \"c\"",
                "{\"id\": 3, \"prompt\": \"d\", \"temperature\": \"hot\"}", "{\"id\": 4, \"prompt\": \"e\"}");
        Path out = dir.resolve("r.jsonl");
        CliTest.Run r = batch(in, out, "--max-tokens", "2");
        assertEquals(0, r.code(), r.err());
        String[] err = r.err().split("\n");
        assertEquals("longbow: " + in + ":2: duplicate id 1 (first on line 1) (skipped)", err[0]);
        assertTrue(err[1].startsWith("longbow: " + in + ":3: invalid JSON at offset ") && err[1].endsWith("(skipped)"), err[1]);
        assertEquals("longbow: " + in + ":4: \"temperature\" should be a number, got \"hot\" (skipped)", err[2]);
        assertTrue(r.err().contains("2 written (0 with an error), 0 already in " + out + ", 3 malformed lines skipped"), r.err());
        assertEquals(Set.of("1", "4"), byId(results(out)).keySet());
    }

    @Test
    void strictStopsAtTheFirstMalformedLineBeforeGeneratingAnything() throws Exception {
        Path in = write("prompts.jsonl", "{\"id\": 1, \"prompt\": \"a\"}", "{\"id\": 2, \"prompt\": \"b\"}", "{\"id\": 2, \"prompt\": \"c\"}",
                "not json");
        Path out = dir.resolve("r.jsonl");
        assertOneLineError(batch(in, out, "--strict"), in + ":3: duplicate id 2 (first on line 2)");
        assertFalse(Files.exists(out), "nothing generated, nothing created");
    }

    @Test
    void aPromptTooLongForTheContextIsAnErrorLineNotRetried() throws Exception {
        String longPrompt = "Once upon a time, there was a little girl named Lily. ".repeat(60); // ~700 tokens, past 512
        Path in = write("p.jsonl", "{\"id\": \"long\", \"prompt\": \"" + longPrompt + "\"}", "{\"id\": \"short\", \"prompt\": \"Hi\"}");
        Path out = dir.resolve("r.jsonl");
        CliTest.Run r = batch(in, out, "--max-tokens", "3");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("2 written (1 with an error)"), r.err());
        Map<String, Map<String, Object>> byId = byId(results(out));
        assertEquals(Set.of("id", "error"), byId.get("\"long\"").keySet());
        assertTrue(((String) byId.get("\"long\"").get("error")).contains("exceeds the context length of 512 tokens"), byId.toString());

        CliTest.Run again = batch(in, out, "--max-tokens", "3");
        assertTrue(again.err().contains("nothing to run, all 2 ids are in " + out + " (1 of them errors; --retry-errors runs those again)"), again.err());

        CliTest.Run retry = batch(in, out, "--max-tokens", "3", "--retry-errors", "--ctx", "1024");
        assertEquals(0, retry.code(), retry.err());
        assertTrue(retry.err().contains("removed 1 error lines to run them again"), retry.err());
        List<Map<String, Object>> lines = results(out);
        assertEquals(2, lines.size());
        byId = byId(lines);
        assertEquals(3L, byId.get("\"long\"").get("completion_tokens"));
        assertFalse(byId.get("\"long\"").containsKey("error"));
    }

    @Test
    void badUseIsOneLine() throws Exception {
        Path in = write("p.jsonl", "{\"id\": 1, \"prompt\": \"a\"}");
        Path out = dir.resolve("r.jsonl");
        String m = model().toString();
        assertOneLineError(run("batch", "--model", m, "--output", out.toString()), "--input FILE is required");
        assertOneLineError(run("batch", "--model", m, "--input", in.toString()), "--output FILE is required");
        assertOneLineError(run("batch", "--model", m, "--input", dir.resolve("none.jsonl").toString(), "--output", out.toString()),
                "none.jsonl: no such input file");
        assertOneLineError(batch(in, out, "--concurrency", "0"), "--concurrency must be >= 1");
        assertOneLineError(batch(in, in), "--input and --output are the same file");
        assertOneLineError(batch(in, out, "--top-p", "2"), "top-p must be in (0, 1]");
        assertOneLineError(batch(in, dir.resolve("no/such/dir/r.jsonl")), "no such file");
        assertFalse(Files.exists(out));
    }

    /**
     * The real thing: a separate JVM runs a batch long enough to be killed with SIGKILL after a few lines, then the
     * batch is run again. Every id must appear exactly once and every line must parse, whatever instant the kill hit.
     */
    @Test
    void killedMidRunThenRerunWritesEveryIdExactlyOnce() throws Exception {
        int n = 24;
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            lines.add("{\"id\": " + i + ", \"prompt\": \"" + (i % 2 == 0 ? "Once upon a time" : "One day, a little dog") + "\", \"seed\": " + i + "}");
        }
        Path in = write("p.jsonl", lines.toArray(String[]::new));
        Path out = dir.resolve("r.jsonl");
        Path log = dir.resolve("stderr.txt");
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), "dev.longbow.cli.Main", "batch", "--model", model().toString(),
                "--input", in.toString(), "--output", out.toString(), "--max-tokens", "400", "--temperature", "1", "--threads", "1",
                "--concurrency", "2").redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (countNewlines(out) < 3) {
                if (!p.isAlive()) fail("batch exited early (" + p.exitValue() + "): " + Files.readString(log));
                if (System.nanoTime() > deadline) fail("no results after 60 s: " + Files.readString(log));
                Thread.sleep(5);
            }
            assertTrue(p.isAlive(), "still running when killed");
            p.destroyForcibly();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        String left = Files.readString(out);
        int whole = left.lastIndexOf('\n') + 1;
        int before = left.substring(0, whole).lines().toList().size();
        assertTrue(before >= 3 && before < n, "killed part way: " + before + " of " + n + " lines");
        for (String l : left.substring(0, whole).lines().toList()) Json.parseObject(l, "line left by the killed run");

        CliTest.Run r = batch(in, out, "--max-tokens", "400", "--temperature", "1", "--concurrency", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains((n - before) + " written (0 with an error), " + before + " already in"), r.err());
        assertEquals(whole < left.length(), r.err().contains("removed a partial last line"), r.err());
        List<Map<String, Object>> results = results(out);
        Map<String, Map<String, Object>> byId = byId(results);
        Set<String> expected = new TreeSet<>();
        for (int i = 0; i < n; i++) expected.add(String.valueOf(i));
        assertEquals(expected, new TreeSet<>(byId.keySet()));
        assertEquals(left.substring(0, whole), Files.readString(out).substring(0, whole), "the killed run's whole lines are kept as they were");
        for (var l : results) assertTrue(l.get("text") instanceof String && l.get("finish_reason") != null, l.toString());
    }

    private static int countNewlines(Path p) throws IOException {
        if (!Files.exists(p)) return 0;
        byte[] b = Files.readAllBytes(p);
        int c = 0;
        for (byte x : b) if (x == '\n') c++;
        return new String(b, StandardCharsets.UTF_8).isEmpty() ? 0 : c;
    }
}
