package dev.longbow.cli;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.longbow.cli.CliTest.assertOneLineError;
import static dev.longbow.cli.CliTest.json;
import static dev.longbow.cli.CliTest.model;
import static dev.longbow.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --attn-sparse and its shape options on the command line, and the skipped fraction generate and bench report. */
class SparseAttentionCliTest {
    private static final String PROMPT = "Once upon a time there was a dog. ".repeat(45);

    /** The fraction local-global skips over positions 0..n-1, from the dense and local-global score counts worked out here. */
    private static double localGlobalSkipped(long n, int block, int local, int global) {
        long dense = 0, seen = 0;
        for (long pos = 0; pos < n; pos++) {
            long localStart = Math.max(0, pos / block - local) * block;
            dense += pos + 1;
            seen += pos + 1 - localStart + Math.min((long) global * block, localStart);
        }
        return 1 - (double) seen / dense;
    }

    @Test
    void generateReportsTheFractionOfScoresSkipped() {
        String[] base = {"generate", "--model", model().toString(), "--prompt", PROMPT, "--max-tokens", "0", "--threads", "2"};
        Map<String, Object> dense = json(run(CliTest.concat(base, "--json")));
        assertEquals(0.0, ((Number) dense.get("attention_flops_skipped")).doubleValue());
        Map<String, Object> sparse = json(run(CliTest.concat(base, "--json", "--attn-sparse", "local-global")));
        long prompt = (Long) sparse.get("prompt_tokens");
        assertTrue(prompt > 400, "prompt of " + prompt + " tokens");
        assertEquals(localGlobalSkipped(prompt, 64, 4, 1), ((Number) sparse.get("attention_flops_skipped")).doubleValue(), 1e-4);
        Map<String, Object> narrow = json(run(CliTest.concat(base, "--json", "--attn-sparse", "local-global", "--attn-sparse-block", "16",
                "--attn-sparse-local", "2", "--attn-sparse-global", "0")));
        assertEquals(localGlobalSkipped(prompt, 16, 2, 0), ((Number) narrow.get("attention_flops_skipped")).doubleValue(), 1e-4);
        CliTest.Run lsh = run(CliTest.concat(base, "--attn-sparse", "lsh", "--attn-sparse-buckets", "8", "--attn-sparse-rounds", "3"));
        assertEquals(0, lsh.code(), lsh.err());
        assertTrue(lsh.err().matches("(?s).*\\d+\\.\\d% of attention score FLOPs skipped.*"), lsh.err());
    }

    @Test
    void benchReportsTheFractionToo() {
        Map<String, Object> o = json(run("bench", "--model", model().toString(), "--prompt-tokens", "400", "--gen-tokens", "4",
                "--bandwidth", "10", "--threads", "1", "--attn-sparse", "local-global", "--attn-sparse-block", "16", "--json"));
        assertTrue(((Number) o.get("attention_flops_skipped")).doubleValue() > 0.5, o.toString());
    }

    @Test
    void sparseOptionsOutsideTheirPatternOrOutOfRangeAreOneLine() {
        String m = model().toString();
        assertOneLineError(run("generate", "--model", m, "--prompt", "hi", "--attn-sparse", "dense"), "unknown sparse attention");
        assertOneLineError(run("generate", "--model", m, "--prompt", "hi", "--attn-sparse-local", "2"), "does not apply to --attn-sparse none");
        assertOneLineError(run("generate", "--model", m, "--prompt", "hi", "--attn-sparse", "lsh", "--attn-sparse-global", "2"), "does not apply");
        assertOneLineError(run("generate", "--model", m, "--prompt", "hi", "--attn-sparse", "local-global", "--attn-sparse-buckets", "2"), "does not apply");
        assertOneLineError(run("generate", "--model", m, "--prompt", "hi", "--attn-sparse", "lsh", "--attn-sparse-buckets", "5"), "even");
        assertOneLineError(run("generate", "--model", m, "--prompt", "hi", "--attn-sparse", "lsh", "--attn-sparse-rounds", "0"), "--attn-sparse-rounds");
        assertOneLineError(run("generate", "--model", m, "--prompt", "hi", "--attn-sparse", "local-global", "--attn-sparse-block", "0"), "--attn-sparse-block");
        assertOneLineError(run("generate", "--model", m, "--prompt", "hi", "--attn-sparse", "local-global", "--attn-sparse-local", "-1"), "--attn-sparse-local");
    }
}
