package dev.longbow.cli;

import dev.longbow.LongbowException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The results file: what a resumed run finds done, how a partial last line is cut away, and what it refuses. */
class BatchOutputTest {
    @TempDir
    Path dir;

    static Map<String, Object> line(Object id, String text) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("text", text);
        return m;
    }

    @Test
    void aNewFileIsCreatedAndEveryWriteIsOneWholeLine() throws Exception {
        Path p = dir.resolve("r.jsonl");
        try (BatchOutput out = BatchOutput.open(p, false, 0)) {
            assertEquals(Set.of(), out.resumed().done());
            out.write(line(1L, "a\nb"));
            out.write(line("x", "\u00e9"));
        }
        assertEquals("{\"id\":1,\"text\":\"a\\nb\"}\n{\"id\":\"x\",\"text\":\"\u00e9\"}\n", Files.readString(p));
    }

    @Test
    void aPartialLastLineIsCutOffAndCompleteLinesAreDone() throws Exception {
        Path p = dir.resolve("r.jsonl");
        String complete = "{\"id\":1,\"text\":\"a\"}\n{\"id\":\"two\",\"error\":\"too long\"}\n";
        for (String tail : new String[]{"{\"id\":3,\"te", "{\"id\":3,\"text\":\"whole but no newline\"}", "{\"id\":3,\"te\n", "\0\0\0"}) {
            Files.writeString(p, complete + tail);
            try (BatchOutput out = BatchOutput.open(p, false, Long.MAX_VALUE)) {
                assertEquals(Set.of("1", "\"two\""), out.resumed().done(), tail);
                assertEquals(Set.of("\"two\""), out.resumed().errors());
                assertEquals(tail.getBytes(StandardCharsets.UTF_8).length, out.resumed().truncatedBytes());
                out.write(line(3L, "new"));
            }
            assertEquals(complete + "{\"id\":3,\"text\":\"new\"}\n", Files.readString(p), tail);
        }
    }

    @Test
    void aBrokenLineBeforeTheLastIsRefused() throws Exception {
        Path p = dir.resolve("r.jsonl");
        String before = "{\"id\":1}\nnot json\n{\"id\":2}\n";
        Files.writeString(p, before);
        LongbowException e = assertThrows(LongbowException.class, () -> BatchOutput.open(p, false, 0));
        assertTrue(e.getMessage().contains("r.jsonl:2: not a complete result line"), e.getMessage());
        assertEquals(before, Files.readString(p), "left untouched");
        Files.writeString(p, "{\"text\":\"no id\"}\n{\"id\":2}\n");
        assertThrows(LongbowException.class, () -> BatchOutput.open(p, false, 0));
    }

    @Test
    void retryErrorsRemovesErrorLinesAndTheirIdsAreNotDone() throws Exception {
        Path p = dir.resolve("r.jsonl");
        Files.writeString(p, "{\"id\":1,\"text\":\"a\"}\n{\"id\":2,\"error\":\"x\"}\n{\"id\":3,\"text\":\"c\"}\n{\"id\":4,\"error\":\"y\"}\n{\"id\":5,");
        try (BatchOutput out = BatchOutput.open(p, true, 0)) {
            assertEquals(Set.of("1", "3"), out.resumed().done());
            assertEquals(2, out.resumed().droppedErrorLines());
            out.write(line(2L, "b"));
        }
        assertEquals("{\"id\":1,\"text\":\"a\"}\n{\"id\":3,\"text\":\"c\"}\n{\"id\":2,\"text\":\"b\"}\n", Files.readString(p));
        assertFalse(Files.exists(dir.resolve("r.jsonl.rewrite")));
    }

    @Test
    void aSecondWriterOnTheSameFileIsRefused() throws Exception {
        Path p = dir.resolve("r.jsonl");
        try (BatchOutput first = BatchOutput.open(p, false, 0)) {
            LongbowException e = assertThrows(LongbowException.class, () -> BatchOutput.open(p, false, 0));
            assertTrue(e.getMessage().contains("another longbow batch is writing this file"), e.getMessage());
        }
        BatchOutput.open(p, false, 0).close(); // released on close
    }
}
