package dev.longbow.examples;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs the sample embedding program on the embedded model and checks that each part produced what it claims. */
class EmbedExampleTest {
    @Test
    void exampleRuns() throws Exception {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            EmbedExample.main(new String[0]);
        } finally {
            System.setOut(saved);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        saved.print(out);
        assertTrue(out.contains("generate: "), out);
        assertTrue(out.contains("stopped: MAX_TOKENS"), out);
        assertTrue(out.contains("[CANCELLED after 10 tokens]"), out);
        assertTrue(out.contains("concurrent: "), out);
    }
}
