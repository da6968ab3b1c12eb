package dev.longbow.server;

import java.util.List;

/**
 * Watches generated text for stop sequences and says how much of it may be shown: text that could still turn into
 * the start of a stop sequence is held back until the next piece settles it, so a streamed response never shows a
 * stop sequence, even one split across tokens. After a match the text ends where the sequence begins.
 */
final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder text = new StringBuilder();
    private int released;
    private boolean stopped;

    StopMatcher(List<String> stops) {
        this.stops = List.copyOf(stops);
    }

    /** Characters generated so far (shown, held back, or past a stop). */
    int length() {
        return text.length();
    }

    /** Characters shown so far; after a stop, where the stop sequence began. */
    int released() {
        return released;
    }

    boolean stopped() {
        return stopped;
    }

    /** Adds a piece of text; returns what may now be shown (possibly empty). Nothing after a stop. */
    String push(String piece) {
        if (stopped) return "";
        text.append(piece);
        // A match starts at or after the released text: anything earlier that could start one was held back.
        int cut = -1;
        for (String stop : stops) {
            int i = text.indexOf(stop, released);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        if (cut >= 0) {
            stopped = true;
            return release(cut);
        }
        int hold = 0;
        for (String stop : stops) {
            for (int k = Math.min(stop.length() - 1, text.length() - released); k > hold; k--) {
                if (endsWith(stop, k)) {
                    hold = k;
                    break;
                }
            }
        }
        return release(text.length() - hold);
    }

    /** The end of the generation: whatever was held back (no stop came). */
    String finish() {
        return stopped ? "" : release(text.length());
    }

    private boolean endsWith(String stop, int k) {
        int from = text.length() - k;
        for (int i = 0; i < k; i++) if (text.charAt(from + i) != stop.charAt(i)) return false;
        return true;
    }

    private String release(int upTo) {
        if (upTo <= released) return "";
        String out = text.substring(released, upTo);
        released = upTo;
        return out;
    }
}
