package dev.longbow.server;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stop sequences: held back while they may be forming, cut where they begin, the earliest one winning. */
class StopMatcherTest {
    static String feed(StopMatcher m, String... pieces) {
        StringBuilder shown = new StringBuilder();
        for (String p : pieces) shown.append(m.push(p));
        return shown.toString();
    }

    @Test
    void aStopSplitOverPiecesIsNeverShown() {
        StopMatcher m = new StopMatcher(List.of("<|end|>"));
        assertEquals("Hello", m.push("Hello"));
        assertEquals(" wor", m.push(" wor"));
        assertEquals("ld", m.push("ld<|"));
        assertEquals("", m.push("en"));
        assertFalse(m.stopped());
        assertEquals("", m.push("d|> and more"));
        assertTrue(m.stopped());
        assertEquals("Hello world".length(), m.released());
        assertEquals("", m.push("x"));
        assertEquals("", m.finish());
    }

    @Test
    void heldTextIsReleasedWhenItTurnsOutNotToBeAStop() {
        StopMatcher m = new StopMatcher(List.of("\n\n"));
        assertEquals("line", m.push("line\n"));
        assertEquals("\nnext", m.push("next"), "a single newline followed by text is not the stop");
        assertEquals("", m.push("\n"));
        assertEquals("\n", m.finish(), "at the end, whatever was held is shown");
    }

    @Test
    void theEarliestStopWinsAndTextBeforeItInTheSamePieceIsShown() {
        StopMatcher m = new StopMatcher(List.of("world", "o w"));
        assertEquals("Hell", feed(m, "Hel", "lo world"));
        assertTrue(m.stopped());
        assertEquals(4, m.released());
    }

    @Test
    void withoutStopsEverythingPassesAtOnce() {
        StopMatcher m = new StopMatcher(List.of());
        assertEquals("abc", m.push("abc"));
        assertEquals("", m.finish());
        assertEquals(3, m.length());
    }

    @Test
    void aStopAtTheVeryStartLeavesNothing() {
        StopMatcher m = new StopMatcher(List.of("Once"));
        assertEquals("", feed(m, "On", "ce upon"));
        assertTrue(m.stopped());
        assertEquals(0, m.released());
    }
}
