package dev.longbow.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

import static dev.longbow.cli.CliTest.assertOneLineError;
import static dev.longbow.cli.CliTest.model;
import static dev.longbow.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A --quick report on the sample model: plots that are real PNG and SVG files, and tables that agree with the commands. */
class LongContextReportTest {
    @TempDir
    Path dir;

    @Test
    void quickReportWritesPlotsAndTables() throws Exception {
        Path text = EvaluationCliTest.story(dir), out = dir.resolve("docs");
        CliTest.Run r = run("long-context-report", "--quick", "--model", model().toString(), "--text", text.toString(), "--out", out.toString(),
                "--depths", "1");
        assertEquals(0, r.code(), r.err());
        Path d = out.resolve("long-context");
        for (String plot : new String[]{"ppl-stories260K", "passkey-stories260K"}) {
            byte[] png = Files.readAllBytes(d.resolve(plot + ".png"));
            assertArrayEquals(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, Arrays.copyOf(png, 8), plot);
            assertTrue(png.length > 5000, plot + ": " + png.length + " bytes");
            String svg = Files.readString(d.resolve(plot + ".svg"));
            assertTrue(svg.contains("<svg") && svg.strip().endsWith("</svg>"), plot + ".svg");
        }
        String md = Files.readString(d.resolve("results-stories260K.md"), StandardCharsets.UTF_8);
        assertTrue(md.contains("longbow long-context-report --quick --model "), "the command is recorded");
        assertTrue(md.contains("| method | 256 | 512 (L) | 1024 |"), md);
        // Static methods are the none run up to L; every main method has a measured perplexity at 2L.
        assertTrue(md.contains("| linear | = none | = none | "), md);
        for (String method : new String[]{"none", "linear", "ntk", "dynamic", "yarn", "elastic", "elastic, no temperature", "window + sinks"}) {
            assertTrue(md.lines().anyMatch(l -> l.matches("\\| " + java.util.regex.Pattern.quote(method) + " \\|.*\\| \\**[0-9]+\\.[0-9]{3}\\** \\|")), method + " in\n" + md);
        }
        assertTrue(md.contains("| 1.0 | 1.0 | 2.00 | "), "elastic grid row at 2L:\n" + md);
        assertTrue(md.lines().anyMatch(l -> l.matches("\\| 512 \\| f16 \\| (n/a: .*|[0-9]+\\.[0-9]{3} \\| .*)")), "KV type row:\n" + md);

        // The table's none figure at L is what the perplexity command measures with the same settings.
        Map<?, ?> ppl = EvaluationCliTest.json(run("perplexity", "--model", model().toString(), "--text-file", text.toString(), "--ctx", "512",
                "--max-tokens", "1024", "--rope-scaling", "none", "--threads", "1", "--json"));
        String none = String.format(Locale.ROOT, "%.3f", EvaluationCliTest.num(ppl, "perplexity"));
        assertTrue(md.lines().anyMatch(l -> l.startsWith("| none | ") && l.split("\\|")[3].replace("*", "").strip().equals(none)), none + " in\n" + md);
    }

    @Test
    void missingInputsAreOneLine() {
        assertOneLineError(run("long-context-report", "--quick", "--text", dir.resolve("missing.txt").toString(), "--out", dir.toString()), "not found");
        assertOneLineError(run("long-context-report", "--quick", "--model", dir.resolve("missing.bin").toString(), "--out", dir.toString()), "not found");
        assertOneLineError(run("long-context-report", "--quick", "--jobs", "0"), "--jobs");
    }
}
