package dev.longbow.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.longbow.cli.CliTest.assertOneLineError;
import static dev.longbow.cli.CliTest.model;
import static dev.longbow.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** calibrate -> compress -> generate, and prune -> generate, from the command line; one-line errors for bad input. */
class CompressionCliTest {
    @TempDir
    Path dir;

    @Test
    void calibrateCompressPruneAndGenerate() throws Exception {
        String m = model().toString(), text = EvaluationCliTest.story(dir).toString();
        Path plan = dir.resolve("plan.json"), w8 = dir.resolve("w8.gguf"), w8a8 = dir.resolve("w8a8.gguf"), sparse = dir.resolve("s.gguf");
        CliTest.Run c = run("calibrate", "--model", m, "--text-file", text, "--samples", "300", "--threads", "1", "--out", plan.toString());
        assertEquals(0, c.code(), c.err());
        assertTrue(c.err().contains("wrote " + plan) && Files.size(plan) > 1000, c.err());
        assertEquals(0, run("compress", "--model", m, "--plan", plan.toString(), "--out", w8.toString()).code());
        CliTest.Run a8 = run("compress", "--model", m, "--plan", plan.toString(), "--mode", "w8a8", "--out", w8a8.toString());
        assertTrue(a8.err().contains("5 norms smoothed"), a8.err());
        CliTest.Run p = run("prune", "--model", m, "--calib", text, "--samples", "300", "--pattern", "2:4", "--method", "sparsegpt", "--int8",
                "--threads", "1", "--out", sparse.toString());
        assertEquals(0, p.code(), p.err());
        assertTrue(p.err().contains("relative reconstruction error"), p.err());
        String fp = run("generate", "--model", m, "--prompt", "Once upon a time", "--max-tokens", "20", "--temperature", "0").out();
        for (Path f : new Path[]{w8, w8a8, sparse}) {
            CliTest.Run g = run("generate", "--model", f.toString(), "--prompt", "Once upon a time", "--max-tokens", "20", "--temperature", "0");
            assertEquals(0, g.code(), g.err());
            assertTrue(g.out().startsWith("Once upon a time") && g.out().length() > 30, f + ": " + g.out());
            if (f == w8) assertEquals(fp, g.out()); // FP16 attention, INT8 feed-forward: the same greedy story
        }
    }

    @Test
    void badInputIsOneLine() throws Exception {
        String m = model().toString(), text = EvaluationCliTest.story(dir).toString();
        Path out = dir.resolve("o.gguf");
        assertOneLineError(run("prune", "--model", m, "--calib", text, "--pattern", "4:8", "--method", "wanda", "--out", out.toString()), "only 2:4");
        assertOneLineError(run("prune", "--model", m, "--calib", text, "--method", "obs", "--out", out.toString()), "unknown pruning method 'obs'");
        assertOneLineError(run("prune", "--model", m, "--method", "sparsegpt", "--out", out.toString()), "needs calibration text");
        assertOneLineError(run("compress", "--model", m, "--mode", "w4a4", "--out", out.toString()), "unknown compression mode 'w4a4'");
        assertOneLineError(run("compress", "--model", m, "--plan", dir.resolve("none.json").toString(), "--out", out.toString()), "no such plan file");
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"layers\":[{\"name\":\"blk.0.attn_q.weight\",\"precision\":\"fp16\"}]}");
        assertOneLineError(run("compress", "--model", m, "--plan", bad.toString(), "--out", out.toString()), "the plan has no entry for layer blk.0.attn_k.weight");
        Path shortText = dir.resolve("short.txt");
        Files.writeString(shortText, "Once upon a time.");
        assertOneLineError(run("calibrate", "--model", m, "--text-file", shortText.toString()), "at least 256 are needed");
    }
}
