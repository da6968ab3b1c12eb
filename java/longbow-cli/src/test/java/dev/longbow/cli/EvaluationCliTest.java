package dev.longbow.cli;

import dev.longbow.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.longbow.cli.CliTest.assertOneLineError;
import static dev.longbow.cli.CliTest.model;
import static dev.longbow.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The perplexity and passkey commands: their JSON, and one-line errors for bad input. */
class EvaluationCliTest {
    @TempDir
    Path dir;

    /** A few stories' worth of TinyStories-like text (about 2,000 tokens for the sample model). */
    static Path story(Path dir) throws Exception {
        String s = """
                Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.
                One day, she saw a big red ball under a tree. Lily was very happy and she ran to get it. Her mom said, "Be careful!"
                Lily played with the ball all day. When the sun went down, she went home and had a warm bath. Then she went to sleep.

                """;
        Path p = dir.resolve("story.txt");
        Files.writeString(p, s.repeat(12));
        return p;
    }

    static Map<?, ?> json(CliTest.Run r) {
        assertEquals(0, r.code(), r.err());
        return (Map<?, ?>) Json.parse(r.out());
    }

    static double num(Map<?, ?> o, String key) {
        return ((Number) o.get(key)).doubleValue();
    }

    @Test
    void perplexityJson() throws Exception {
        String text = story(dir).toString(), m = model().toString();
        Map<?, ?> disjoint = json(run("perplexity", "--model", m, "--text-file", text, "--ctx", "128", "--max-tokens", "600", "--json"));
        for (String k : List.of("perplexity", "tokens", "ctx", "stride", "nll", "rope_scaling", "seconds", "tok_s", "windows", "kv_bytes")) {
            assertTrue(disjoint.containsKey(k), k + " in " + disjoint);
        }
        assertEquals(600, num(disjoint, "tokens"));
        assertEquals(128, num(disjoint, "ctx"));
        assertEquals(127, num(disjoint, "stride")); // BOS takes a place in every window
        assertEquals(5, num(disjoint, "windows"));
        assertEquals(Math.exp(num(disjoint, "nll") / 600), num(disjoint, "perplexity"), 1e-9 * num(disjoint, "perplexity"));
        assertTrue(num(disjoint, "perplexity") > 1 && num(disjoint, "perplexity") < 50, disjoint.toString());
        assertEquals("none", ((Map<?, ?>) disjoint.get("rope_scaling")).get("method"));
        assertEquals(5L * 128 * 32 * 4 * 2, num(disjoint, "kv_bytes")); // layers x positions x kv dim x f32 x (keys, values)

        Map<?, ?> strided = json(run("perplexity", "--model", m, "--text-file", text, "--ctx", "128", "--stride", "32", "--max-tokens", "600", "--json"));
        assertEquals(600, num(strided, "tokens"));
        assertEquals(32, num(strided, "stride"));
        assertNotEquals(num(disjoint, "perplexity"), num(strided, "perplexity"));

        Map<?, ?> linear = json(run("perplexity", "--model", m, "--text-file", text, "--ctx", "1024", "--rope-scaling", "linear", "--max-tokens", "1100", "--json"));
        Map<?, ?> rope = (Map<?, ?>) linear.get("rope_scaling");
        assertEquals("linear", rope.get("method"));
        assertEquals(2.0, num(rope, "factor"));
        assertEquals(2, num(linear, "windows"));

        CliTest.Run plain = run("perplexity", "--model", m, "--text-file", text, "--ctx", "128", "--max-tokens", "600");
        assertEquals(0, plain.code(), plain.err());
        assertTrue(plain.out().startsWith("perplexity " + String.format(java.util.Locale.ROOT, "%.4f", num(disjoint, "perplexity"))), plain.out());
    }

    @Test
    void perplexityErrorsAreOneLine() throws Exception {
        String text = story(dir).toString(), m = model().toString();
        assertOneLineError(run("perplexity", "--model", m), "--text-file");
        assertOneLineError(run("perplexity", "--model", m, "--text-file", dir.resolve("missing.txt").toString()), "no such file");
        Files.writeString(dir.resolve("empty.txt"), "");
        assertOneLineError(run("perplexity", "--model", m, "--text-file", dir.resolve("empty.txt").toString()), "empty");
        assertOneLineError(run("perplexity", "--model", m, "--text-file", text, "--ctx", "1"), "--ctx");
        assertOneLineError(run("perplexity", "--model", m, "--text-file", text, "--ctx", "64", "--stride", "0"), "--stride");
        assertOneLineError(run("perplexity", "--model", m, "--text-file", text, "--ctx", "64", "--stride", "65"), "--stride");
        assertOneLineError(run("perplexity", "--model", m, "--text-file", text, "--max-tokens", "0"), "--max-tokens");
        assertOneLineError(run("perplexity", "--model", m, "--text-file", text, "--ctx", "64", "--kv-type", "f8"), "f8");
    }

    @Test
    void passkeyJson() {
        Map<?, ?> o = json(run("passkey", "--model", model().toString(), "--ctx", "200", "--depths", "0,1", "--trials", "2", "--seed", "5", "--json"));
        List<?> depths = (List<?>) o.get("depths"), runs = (List<?>) o.get("runs");
        assertEquals(2, depths.size());
        assertEquals(4, runs.size());
        for (Object d : depths) {
            Map<?, ?> m = (Map<?, ?>) d;
            assertTrue(num(m, "accuracy") >= 0 && num(m, "accuracy") <= 1, m.toString());
            assertTrue(num(m, "token_accuracy") >= 0 && num(m, "token_accuracy") <= 1, m.toString());
            assertTrue(num(m, "prompt_tokens") > 180 && num(m, "prompt_tokens") <= 200, m.toString());
        }
        for (Object r : runs) {
            Map<?, ?> m = (Map<?, ?>) r;
            assertTrue(((String) m.get("key")).matches("[0-9]{5}"), m.toString());
            assertTrue(num(m, "correct_tokens") >= 0 && num(m, "correct_tokens") <= num(m, "key_tokens"), m.toString());
        }
        assertTrue(num(o, "accuracy") >= 0 && num(o, "accuracy") <= 1);
        assertEquals(200, num(o, "ctx"));
        assertEquals(2, num(o, "trials"));
    }

    @Test
    void passkeyErrorsAreOneLine() {
        String m = model().toString();
        assertOneLineError(run("passkey", "--model", m, "--depths", "0,1.5"), "--depths");
        assertOneLineError(run("passkey", "--model", m, "--depths", "half"), "--depths");
        assertOneLineError(run("passkey", "--model", m, "--trials", "0"), "--trials");
        assertOneLineError(run("passkey", "--model", m, "--ctx", "20"), "cannot hold");
    }
}
