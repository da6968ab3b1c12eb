package dev.longbow.cli;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Progress of a batch on stderr: lines done of the total, generated tokens per second, and the time left. On a
 * terminal it is one line redrawn in place; otherwise (a log file, a pipe) a plain line every 10 seconds or every
 * tenth of the batch, whichever comes first. Workers count; the caller's thread calls {@link #tick} to draw.
 */
final class BatchProgress {
    static final long PLAIN_EVERY_NANOS = 10_000_000_000L;

    private final PrintStream err;
    private final boolean terminal;
    private final int total, alreadyDone;
    private final long start;
    private final AtomicInteger done = new AtomicInteger();
    private final AtomicLong tokens = new AtomicLong();
    private long lastPrint;
    private int lastTenth;
    private int drawnWidth;

    /** {@code total} counts every valid input line; {@code alreadyDone} of them were in the results before this run. */
    BatchProgress(PrintStream err, boolean terminal, int total, int alreadyDone, long startNanos) {
        this.err = err;
        this.terminal = terminal;
        this.total = total;
        this.alreadyDone = alreadyDone;
        this.start = startNanos;
        this.lastPrint = startNanos;
        this.lastTenth = tenth(alreadyDone);
    }

    void token() {
        tokens.incrementAndGet();
    }

    void lineDone() {
        done.incrementAndGet();
    }

    long tokens() {
        return tokens.get();
    }

    int done() {
        return done.get();
    }

    /** Draws if it is time: always on a terminal (the caller paces it), else every 10 s or each tenth of the batch. */
    synchronized void tick(long now) {
        if (terminal) {
            String s = line(now);
            err.print("\r" + s + " ".repeat(Math.max(0, drawnWidth - s.length())));
            err.flush();
            drawnWidth = s.length();
            return;
        }
        int t = tenth(alreadyDone + done.get());
        if (now - lastPrint >= PLAIN_EVERY_NANOS || t > lastTenth) {
            err.println(line(now));
            lastPrint = now;
            lastTenth = t;
        }
    }

    /** Ends the redrawn line so that what follows starts on its own. */
    synchronized void finish(long now) {
        if (terminal) {
            tick(now);
            err.println();
        }
    }

    /** Seconds since this run's generation began (model loading excluded). */
    double seconds(long now) {
        return Math.max(1e-9, (now - start) / 1e9);
    }

    String line(long now) {
        int d = done.get(), all = alreadyDone + d;
        double seconds = seconds(now);
        String eta = d == 0 ? "?" : duration((total - all) * seconds / d);
        return String.format("batch: %d/%d done, %.1f tok/s, ETA %s", all, total, tokens.get() / seconds, eta);
    }

    private int tenth(int n) {
        return total == 0 ? 10 : (int) (10L * n / total);
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s < 60) return s + "s";
        if (s < 3600) return String.format("%dm%02ds", s / 60, s % 60);
        return String.format("%dh%02dm", s / 3600, s % 3600 / 60);
    }
}
