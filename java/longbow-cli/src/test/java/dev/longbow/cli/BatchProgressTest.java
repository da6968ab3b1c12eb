package dev.longbow.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Progress on stderr: redrawn in place on a terminal, else a plain line every 10 seconds or tenth of the batch. */
class BatchProgressTest {
    static final long S = 1_000_000_000L;

    @Test
    void plainLinesComeEveryTenthOrEveryTenSeconds() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        BatchProgress p = new BatchProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, 100, 20, 0);
        p.tick(S);
        assertEquals("", bytes.toString(), "nothing new yet");
        for (int i = 0; i < 9; i++) p.lineDone();
        p.tick(2 * S);
        assertEquals("", bytes.toString(), "29 of 100 is still the same tenth as 20");
        p.lineDone();
        for (int i = 0; i < 50; i++) p.token();
        p.tick(5 * S);
        assertEquals("batch: 30/100 done, 10.0 tok/s, ETA 35s\n", bytes.toString());
        p.tick(14 * S);
        assertEquals(1, bytes.toString().lines().count(), "10 s have not passed since the last line");
        p.tick(15 * S);
        assertEquals("batch: 30/100 done, 3.3 tok/s, ETA 1m45s", bytes.toString().lines().toList().get(1));
        p.finish(16 * S);
        assertEquals(2, bytes.toString().lines().count(), "finish adds nothing to plain output");
    }

    @Test
    void aTerminalLineIsRedrawnInPlace() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        BatchProgress p = new BatchProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8), true, 4, 0, 0);
        p.tick(S);
        assertEquals("\rbatch: 0/4 done, 0.0 tok/s, ETA ?", bytes.toString());
        p.lineDone();
        p.tick(2 * S);
        assertTrue(bytes.toString().endsWith("\rbatch: 1/4 done, 0.0 tok/s, ETA 6s"), bytes.toString());
        p.finish(3 * S);
        assertTrue(bytes.toString().endsWith("ETA 9s\n"), bytes.toString());
        assertEquals(1, bytes.toString().chars().filter(c -> c == '\n').count());
    }

    @Test
    void durations() {
        assertEquals("0s", BatchProgress.duration(0.2));
        assertEquals("59s", BatchProgress.duration(59));
        assertEquals("1m00s", BatchProgress.duration(60));
        assertEquals("1h01m", BatchProgress.duration(3661));
    }
}
